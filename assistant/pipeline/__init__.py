"""The answer pipeline: one question through safety, retrieval, generation, verification and audit.

```
question ─▶ policy.check_input ─▶ kb.retrieve ─▶ basis filter ─▶ prompt ─▶ Generator.generate
         ─▶ grounding.parse (one repair) ─▶ grounding.ground ─▶ policy.check_output
         ─▶ disclaimer (domain's, else policy's) ─▶ audit.record ─▶ AskResult
```
Guarantees that no question text can switch off (they are code, not prompt): every citation shown is a
retrieved article with its verbatim text; citations the generator invents are removed (also inside key
points) and the turn is flagged; flagged output is held for review and the user sees only the hold
message; the disclaimer is always attached; every turn — refused, no basis, held, failed — is audited.

Modules, one step each: `core` (Pipeline: wiring, public API, the flow), `retrieve` (retrieval's step),
`generate` (generate → verify: grounding's step), `finish` (input refusal, messages, errors, the audit
record), `state` (AskResult, TurnState, question clean-up), `policies` (safety policies, disclaimers),
`base` (what the steps share).
"""

from assistant.pipeline.core import Pipeline
from assistant.pipeline.policies import load_policies
from assistant.pipeline.state import AskResult, TurnState, clean_question, has_lone_surrogate

__all__ = ["AskResult", "Pipeline", "TurnState", "clean_question", "has_lone_surrogate", "load_policies"]
