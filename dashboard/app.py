"""The bopwatch dashboard: ``bopwatch dashboard`` serves this file (``dashboard.server``).

Before login every page path (``/car?event=..``) shows the login form, so a link keeps its page and query through
the login; after login the pages the viewer's role allows are listed. Pages are thin: they read through
:mod:`compliance.access.queries`, which enforces what the viewer may see.
"""

from __future__ import annotations

import streamlit as st

from compliance.access import analysis
from dashboard import context

PAGES = (  # url_path, file, title, who (None: everyone; a Viewer property's name, or a test of the viewer)
    ("overview", "app_pages/overview.py", "Session overview", None),
    ("car", "app_pages/car.py", "Car and run detail", None),
    ("upload", "app_pages/upload.py", "Upload", "can_upload"),
    ("bop", "app_pages/bop.py", "BoP bulletins", None),
    ("fleet", "app_pages/fleet.py", "Fleet", None),
    ("sanctions", "app_pages/sanctions.py", "Sanctions", None),
    ("audit", "app_pages/audit.py", "Audit log", "can_audit"),
    ("analysis", "app_pages/analysis.py", "BoP analysis", analysis.may_analyse),
)
LOGIN_CHECK_S = 10      # how often an open tab looks whether its login ended elsewhere (logout, expiry)

st.set_page_config(page_title="bopwatch", layout="wide")


@st.fragment(run_every=LOGIN_CHECK_S)
def _login_watch() -> None:
    if not context.login_alive():
        st.rerun(scope="app")


viewer = context.current_viewer()
if viewer is None:
    # A page's hash is its url_path: the form stands in for every page, and after login the same path runs the
    # real page with the query parameters kept. "login" is the old address of the form.
    page = st.navigation([st.Page(context.login_page, title="Log in", url_path=path, default=path == "overview")
                          for path, *_ in PAGES] + [st.Page(context.login_page, title="Log in", url_path="login")],
                         position="hidden")
else:
    page = st.navigation([st.Page(file, title=title, url_path=path, default=path == "overview")
                          for path, file, title, who in PAGES
                          if who is None or (who(viewer) if callable(who) else getattr(viewer, who))])
    with st.sidebar:
        st.caption(f"Logged in as **{viewer.label}**")
        if st.button("Log out", key="logout"):
            context.logout()
        context.send_cookie()
        _login_watch()
page.run()
