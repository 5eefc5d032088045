"""placeholder: filled by the report stage."""
