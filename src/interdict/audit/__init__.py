"""Append-only, hash-chained audit log (Directive (EU) 2016/680 Art. 25)."""
