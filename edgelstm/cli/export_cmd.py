"""placeholder: filled by the C export stage."""
