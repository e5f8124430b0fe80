"""Safety layer: per-domain policies (refusal, keyword interception, disclaimers, PII), citation
verification, and the SQLite audit trail with its review queue."""
