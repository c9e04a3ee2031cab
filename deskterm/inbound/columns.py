"""The columns ingest writes, each list in the order its prepared statement takes them.

The demo's synthetic desk writes its rows with the same lists (deskterm.demo.desk).
"""

from __future__ import annotations

MESSAGE_COLUMNS = [
    "conversation",
    "direction",
    "message_id",
    "in_reply_to",
    "references",
    "from_addr",
    "from_name",
    "to",
    "cc",
    "reply_to",
    "subject",
    "date",
    "text",
    "headers",
    "notes",
    "raw_path",
    "size",
    "dedup_key",
    "source",
    "state",
    "created_at",
]
CONVERSATION_COLUMNS = [
    "channel",
    "contact",
    "subject",
    "email_subject",
    "priority",
    "thread_message_id",
    "status",
    "unread",
    "message_count",
    "references",
    "cc",
    "created_at",
    "updated_at",
    "conversation_type",
    "sla_started_at",  # arrival on the desk (desk/sla.py); the demo's leave it NULL
]
# What applying a message changes on its conversation, written once per batch.
CONVERSATION_STATE = [
    "contact",
    "status",
    "priority",
    "unread",
    "message_count",
    "references",
    "cc",
    "updated_at",
]
ATTACHMENT_COLUMNS = [
    "message",
    "filename",
    "content_type",
    "size",
    "sha256",
    "content_id",
    "inline",
]
SKIPPED_COLUMNS = [
    "channel",
    "folder",
    "uid",
    "message_id",
    "dedup_key",
    "from_addr",
    "subject",
    "reason",
    "source",
    "twin_message",
    "raw_path",
    "created_at",
]
FIELD_VALUE_COLUMNS = ["conversation", "type_field", "value", "key"]
CONTACT_COLUMNS = ["email", "name", "organization", "created_at"]
