"""`edgelstm train` (placeholder)."""
