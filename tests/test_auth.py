"""Accounts, password hashing, login and session expiry (compliance.access.auth)."""

from __future__ import annotations

from pathlib import Path

import bcrypt
import pytest

from compliance.access.auth import (
    AuthError,
    Viewer,
    authenticate,
    check_session,
    hash_password,
    load_accounts,
    parse_accounts,
    require,
    start_session,
    viewer_for_identity,
)

ROOT = Path(__file__).resolve().parent.parent


def _hash(pw: str) -> str:
    return bcrypt.hashpw(pw.encode(), bcrypt.gensalt(4)).decode()


@pytest.fixture(scope="module")
def accounts():
    return parse_accounts(f"""
session_ttl_minutes = 60
idle_timeout_minutes = 10
[accounts.chief]
role = "scrutineer"
password_hash = "{_hash('chief-pw')}"
[accounts.tech]
role = "technical"
password_hash = "{_hash('tech-pw')}"
[accounts.red]
role = "team"
team = "Red Team"
password_hash = "{_hash('red-pw')}"
[oidc."Steward@Example.org"]
role = "technical"
""")


def test_correct_password_gives_the_account_role_and_team(accounts):
    viewer = authenticate(accounts, "red", "red-pw")
    assert viewer == Viewer("red", "team", "Red Team", "")
    assert not viewer.sees_all_cars and not viewer.can_upload and not viewer.can_audit


def test_wrong_password_and_unknown_user_get_the_same_refusal(accounts):
    with pytest.raises(AuthError) as wrong:
        authenticate(accounts, "chief", "nope")
    with pytest.raises(AuthError) as unknown:
        authenticate(accounts, "nobody", "nope")
    assert str(wrong.value) == str(unknown.value)


def test_overlong_password_is_refused_not_truncated(accounts):
    with pytest.raises(AuthError):
        authenticate(accounts, "chief", "chief-pw" + "x" * 80)


def test_hash_password_makes_a_bcrypt_hash_that_verifies():
    hashed = hash_password("s3cret-pass", rounds=4)
    assert hashed.startswith("$2b$04$") and "s3cret" not in hashed
    assert bcrypt.checkpw(b"s3cret-pass", hashed.encode())


def test_plain_text_password_in_the_file_is_refused():
    with pytest.raises(AuthError, match="never a plain password"):
        parse_accounts('[accounts.a]\nrole = "technical"\npassword = "hunter2"\n')
    with pytest.raises(AuthError, match="not a bcrypt hash"):
        parse_accounts('[accounts.a]\nrole = "technical"\npassword_hash = "hunter2"\n')


def test_team_account_without_team_is_refused():
    with pytest.raises(AuthError, match="needs team"):
        parse_accounts(f'[accounts.a]\nrole = "team"\npassword_hash = "{_hash("x")}"\n')


def test_unknown_role_is_refused():
    with pytest.raises(AuthError, match="role 'admin'"):
        parse_accounts(f'[accounts.a]\nrole = "admin"\npassword_hash = "{_hash("x")}"\n')


def test_session_expires_after_its_lifetime(accounts):
    session = start_session(authenticate(accounts, "tech", "tech-pw"), now=1000.0)
    for t in range(1000, 1000 + 3600, 500):          # active every 500 s: never idle, but the TTL is 1 h
        session = check_session(accounts, session, now=float(t))
    with pytest.raises(AuthError, match="expired"):
        check_session(accounts, session, now=1000.0 + 3601)


def test_session_expires_after_inactivity(accounts):
    session = start_session(authenticate(accounts, "tech", "tech-pw"), now=0.0)
    session = check_session(accounts, session, now=599.0)
    with pytest.raises(AuthError, match="inactivity"):
        check_session(accounts, session, now=599.0 + 601)


def test_session_of_a_removed_account_ends(accounts):
    session = start_session(Viewer("ghost", "scrutineer"), now=0.0)
    with pytest.raises(AuthError, match="removed"):
        check_session(accounts, session, now=1.0)


def test_roles_grant_exactly_their_permissions(accounts):
    chief, tech, red = (authenticate(accounts, u, f"{u}-pw") for u in ("chief", "tech", "red"))
    assert require(chief, "upload") is chief
    for viewer in (tech, red):
        with pytest.raises(AuthError):
            require(viewer, "upload")
    assert require(tech, "audit") is tech
    with pytest.raises(AuthError):
        require(red, "audit")
    with pytest.raises(AuthError, match="not logged in"):
        require(None, "read_all")


def test_oidc_identity_maps_by_email_case_insensitively(accounts):
    assert viewer_for_identity(accounts, "steward@example.ORG").role == "technical"
    with pytest.raises(AuthError, match="no role"):
        viewer_for_identity(accounts, "stranger@example.org")


def test_demo_accounts_file_is_valid_and_hashed():
    demo = load_accounts(ROOT / "dashboard" / "demo_accounts.toml")
    roles = {a.role for a in demo.accounts.values()}
    assert roles == {"scrutineer", "technical", "team"}
    assert all(a.password_hash and a.password_hash.startswith(b"$2b$") for a in demo.accounts.values())
    documented = (ROOT / "docs" / "dashboard.md").read_text()
    for user, password in (("chief", "scrutineer-demo"), ("tech", "technical-demo"), ("kestrel", "kestrel-demo")):
        assert f"`{user}` / `{password}`" in documented
        assert authenticate(demo, user, password).username == user


def test_missing_accounts_file_names_the_fix(tmp_path):
    with pytest.raises(AuthError, match="--accounts"):
        load_accounts(tmp_path / "absent.toml")
