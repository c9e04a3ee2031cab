"""The helpdesk's rules: conversation status, contacts, templates, attachments, the read model."""
