"""The audit chain's keyed anchor: each audit row may carry an HMAC-SHA256 of its chain hash (``mac``) and the
public id of the key that made it (``key_id``; compliance.store.audit_key). Rows written before this migration, or
without a key, keep NULL in both and verify as unkeyed."""

NAME = "audit_mac"

SQL = """
ALTER TABLE audit_log ADD COLUMN mac VARCHAR;
ALTER TABLE audit_log ADD COLUMN key_id VARCHAR;
"""
