"""Safety layer: per-domain policies (refusal, keyword interception, disclaimers, PII masking) and the
SQLite audit trail with its review queue. (Citation verification is grounding's: `assistant.grounding`.)

How the pipeline uses it (one turn)::

    policy = load_policy(domain)                       # safety.policy; cached, cheap to call per turn
    q = Question(text=question, domain=domain)
    v_in = policy.check_input(q)                       # "refuse" (v_in.message, v_in.rule) or "allow"
    #   v_in.details.get("signals") lists non-refusing signals, e.g. ["flag.prompt_injection"]
    text_for_retrieval = policy.sanitize_question(question)   # injected instructions removed
    ...retrieve, generate, parse → answer...
    check = ground(answer, passages)                   # assistant.grounding; check.removed → flag the turn
    answer = policy.apply_disclaimer(check.answer)     # always; replaces whatever the generator wrote
    v_out = policy.check_output(q, answer, passages)   # "flag" → hold for review (v_out.message), "amend"/"allow"
    store.record(Turn(..., verdicts=[v_in, v_out, ...], flagged=..., status=...))

`SqliteAuditStore(home / "audit.sqlite", mask_pii=policy.mask_pii if policy.mask_stored else None)`.
`check_output` also holds answers when the question or a retrieved passage carries a prompt injection,
so nothing in the text can switch a rule off.
"""
