"""The Streamlit dashboard: thin pages over compliance.queries."""
