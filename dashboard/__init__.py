"""The Streamlit dashboard: thin pages over compliance.access.queries."""
