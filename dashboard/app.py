"""The bopwatch dashboard: ``bopwatch dashboard`` runs ``streamlit run`` on this file.

Before login only the login page exists; after login the pages the viewer's role allows are listed. Pages are
thin: they read through :mod:`compliance.queries`, which enforces what the viewer may see.
"""

from __future__ import annotations

import streamlit as st

from dashboard import context

st.set_page_config(page_title="bopwatch", layout="wide")

viewer = context.current_viewer()
if viewer is None:
    page = st.navigation([st.Page(context.login_page, title="Log in", url_path="login")], position="hidden")
else:
    pages = [
        st.Page("app_pages/overview.py", title="Session overview", url_path="overview", default=True),
        st.Page("app_pages/car.py", title="Car and run detail", url_path="car"),
    ]
    if viewer.can_upload:
        pages.append(st.Page("app_pages/upload.py", title="Upload", url_path="upload"))
    pages += [
        st.Page("app_pages/bop.py", title="BoP bulletins", url_path="bop"),
        st.Page("app_pages/fleet.py", title="Fleet", url_path="fleet"),
    ]
    if viewer.can_audit:
        pages.append(st.Page("app_pages/audit.py", title="Audit log", url_path="audit"))
    page = st.navigation(pages)
    with st.sidebar:
        st.caption(f"Logged in as **{viewer.label}**")
        if st.button("Log out", key="logout"):
            context.logout()
page.run()
