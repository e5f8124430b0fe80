"""Domains are folders of configuration: `<dir>/<name>/domain.yaml` (plus an optional `safety.yaml`).

The shipped domains live next to this file (`legal/`, `medical/`); `YijuConfig.domains_dirs` adds more
folders, scanned in order, so a third domain (or an override of a shipped one) needs no code.
Every field is validated with `extra="forbid"`; errors name the file and the field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from assistant.errors import DomainError
from knowledge.yamlfile import YamlFileError, load_yaml

BUILTIN_DIR = Path(__file__).resolve().parent
DOMAIN_FILE = "domain.yaml"


class CategorySpec(BaseModel):
    """One 【分类】 value and the words that select it."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, description="Category shown in 【分类】, e.g. 劳动合同")
    keywords: list[str] = Field(
        default_factory=list, description="Words in the question/articles that select it"
    )
    laws: list[str] = Field(default_factory=list, description="Law short names whose articles suggest it")
    population: bool = Field(
        default=False,
        description="The keywords say who is ill (孩子, 宝宝), not with what: a disease guideline listed in `laws` "
        "is not a basis for every question naming them, only for one naming its disease (grounding.subject)",
    )
    broad_keywords: list[str] = Field(
        default_factory=list,
        description="Keywords that place a question in this category but name no disease (传染, 病毒, 隔离): they "
        "do not let one of the category's disease guidelines answer it (grounding.subject.names_disease) — "
        "「得了带状疱疹会传染吗」 is not a question about 手足口病",
    )
    scoped: bool = Field(
        default=False,
        description="The statutes listed in `laws` are about this field only (传染病防治法, 精神卫生法): an "
        "article of theirs is a basis only for a question naming one of `keywords` (grounding.subject)",
    )


class RetrievalSpec(BaseModel):
    """How this domain retrieves and when retrieval is 'no basis'."""

    model_config = ConfigDict(extra="forbid")
    knowledge_domains: list[str] = Field(
        default_factory=list, description="knowledge domains searched (default: the domain's own name)"
    )
    k: int = Field(default=5, ge=1, le=50, description="Passages retrieved per knowledge domain")
    min_score: float = Field(default=0.0, description="Passages scoring below this are ignored")
    min_overlap: float = Field(
        default=0.6,
        ge=0.0,
        le=1.0,
        description="Relevance gate: the weighted share of the question's distinctive words (corpus IDF) a "
        "passage must cover to count as a basis",
    )
    relative_overlap: float = Field(
        default=0.6,
        ge=0.0,
        le=1.0,
        description="…and at least this share of the best retrieved passage's relevance (drops side articles)",
    )
    subject_words: int = Field(
        default=0,
        ge=0,
        le=10,
        description="Relevance gate: a basis must cover at least one of the question's N rarest words (what it "
        "is about: 痛风 in 痛风急性发作吃什么药); 0 = off (legal stories carry rare incidental details)",
    )
    narrative_words: list[str] = Field(
        default_factory=list,
        description="Words that say who asks (爸, 老公, 同事) and, when set, turn on weighing a question by what "
        "it is about: these, time words, amounts and adverbs weigh nothing in the relevance gate, and an "
        "everyday word the vocabulary maps weighs its clinical wording (assistant.grounding.subject); "
        "empty = off (legal)",
    )
    population_words: list[str] = Field(
        default_factory=list,
        description="Words that say who is ill (老人, 孩子, 孕妇), not with what: in the relevance gate they weigh no "
        "more than a common word, so a passage about the population (健康素养's item on the elderly) is no "
        "basis for a question on something else (老人便秘怎么办); the composer still weighs them fully",
    )
    split_compounds: bool = Field(
        default=False,
        description="Search with the parts of a patient's compound words too (流感疫苗 → 流感 疫苗, 喂母乳 → 母乳): "
        "guidelines write the parts apart, so the whole word alone matches nothing",
    )
    follow_citations: bool = Field(
        default=False,
        description="Add the articles a retrieved article cites of its own law (本法第四十七条) to the "
        "candidates (assistant.grounding.graph), so two rules that work together can be quoted together",
    )
    forgive_narrative: bool = Field(
        default=False,
        description="Relevance gate: a passage covering every word of the question's core (the words the "
        "domain vocabulary knows, at least two) need not cover its story (晚上十点, 物流); names are always owed "
        "(assistant.grounding.scope)",
    )
    max_passages: int = Field(default=5, ge=1, le=20, description="Passages given to the generator")
    filter: Literal["store", "post"] = Field(
        default="post",
        description="store: the KB filters by domain (Chroma `where`, slow on a large corpus); post: one "
        "unfiltered search for k × post_factor candidates kept by domain, falling back to store when too few",
    )
    post_factor: int = Field(default=6, ge=1, le=50)
    prefer_titled: bool = Field(
        default=False,
        description="Relevance gate: among passages that qualify, those of a document whose title names what "
        "the question asks about come first (a guideline before a health-literacy compendium retelling it)",
    )


class PromptSpec(BaseModel):
    """The chat prompt: a system message and a user template."""

    model_config = ConfigDict(extra="forbid")
    system: str = Field(min_length=1)
    user: str = Field(
        min_length=1, description="Template with {question}, {passages}, {categories}, {title} placeholders"
    )
    repair: str = Field(
        default=(
            "你上一条回答没有按要求的格式输出（{problem}）。请严格按以下格式重新回答，不要添加其他内容：\n"
            "【分类】<从 {categories} 中选一个>\n【要点】\n1. …\n2. …\n【依据】\n- 《法律名称》第X条"
        ),
        description="Sent once when the output cannot be parsed; {problem} and {categories} are filled in",
    )

    @field_validator("user")
    @classmethod
    def _needs_question(cls, v: str) -> str:
        if "{question}" not in v or "{passages}" not in v:
            raise ValueError("prompt.user must contain {question} and {passages}")
        return v


class ContextSynonyms(BaseModel):
    """Everyday words whose statute wording holds only in one context: 公司 is the employer (用人单位) in a
    question about work, not in 「能找共享单车公司赔吗」 or a shareholder's question."""

    model_config = ConfigDict(extra="forbid")
    when: list[str] = Field(
        min_length=1, description="Words (found anywhere in the question) that put it in this context"
    )
    synonyms: dict[str, list[str]] = Field(
        min_length=1, description="Everyday word -> statute wording, applied only in this context"
    )


class DomainSpec(BaseModel):
    """A whole domain.yaml."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(
        pattern=r"^[a-z][a-z0-9_-]{1,31}$", description="Identifier used in requests and the KB"
    )
    title: str = Field(min_length=1, description="Human title, e.g. 法律咨询")
    description: str = ""
    routing_keywords: list[str] = Field(
        default_factory=list, description="Words that route a question here (auto)"
    )
    synonyms: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Everyday word -> statute wording (工资 -> 劳动报酬), used to judge which articles answer a question",
    )
    context_synonyms: list[ContextSynonyms] = Field(
        default_factory=list,
        description="Synonyms applied only to a question naming one of their context words (see synonyms_for)",
    )
    categories: list[CategorySpec] = Field(min_length=1)
    default_category: str = Field(min_length=1, description="【分类】 when no category keyword matches")
    retrieval: RetrievalSpec = Field(default_factory=RetrievalSpec)
    prompt: PromptSpec
    disclaimer: str = Field(
        default="",
        description="Shown under every answer of this domain; empty = the safety policy's disclaimer",
    )
    safety_policy: str = Field(
        min_length=1,
        description="Built-in safety policy name (legal|medical) or a YAML path relative to this folder",
    )
    adapter: str | None = Field(
        default=None, description="LoRA adapter / served model name; default: the name"
    )
    no_basis_message: str = (
        "知识库中没有找到可以作为依据的条文，因此无法给出有依据的回答。建议换个说法提问，或咨询专业人士。"
    )
    review_message: str = "该回答涉及需要人工审核的内容，已提交审核，审核通过后才会显示。"
    error_message: str = "处理问题时出错，请稍后再试。"
    folder: Path | None = Field(default=None, exclude=True, description="Set by the loader")

    @model_validator(mode="after")
    def _defaults(self) -> DomainSpec:
        if not self.retrieval.knowledge_domains:
            self.retrieval.knowledge_domains = [self.name]
        if self.adapter is None:
            self.adapter = self.name
        return self

    def synonyms_for(self, question: str) -> dict[str, list[str]]:
        """The synonyms that hold for `question`: `synonyms`, plus each `context_synonyms` group whose context
        word the question names (公司 -> 用人单位 only beside 工资, 辞退, 上班…)."""
        return self._with_groups([g for g in self.context_synonyms if any(w in question for w in g.when)])

    def all_synonyms(self) -> dict[str, list[str]]:
        """Every synonym of the domain, context-bound ones included (its vocabulary, whatever the question)."""
        return self._with_groups(self.context_synonyms)

    def _with_groups(self, groups: list[ContextSynonyms]) -> dict[str, list[str]]:
        if not groups:
            return self.synonyms
        merged = {k: list(v) for k, v in self.synonyms.items()}
        for group in groups:
            for key, wording in group.synonyms.items():
                merged[key] = list(dict.fromkeys([*merged.get(key, []), *wording]))
        return merged

    def expand(self, question: str) -> str:
        """The question followed by the statute wording of every everyday word it contains as a whole word
        (jieba segmentation): 公司 expands in 公司不续签 but not inside 保险公司."""
        from knowledge.textproc import find_whole_words

        synonyms = self.synonyms_for(question)
        keys = find_whole_words(question, list(synonyms))
        extra = list(dict.fromkeys(w for key in keys for w in synonyms[key] if w not in question))
        return f"{question} {' '.join(extra)}" if extra else question

    @property
    def category_names(self) -> list[str]:
        """All category names, the default last if it is not already listed."""
        names = [c.name for c in self.categories]
        return names if self.default_category in names else [*names, self.default_category]

    def safety_policy_ref(self) -> str | Path:
        """What to hand `safety.policy.load_policy`: a built-in name or an absolute path."""
        ref = self.safety_policy
        if ref.endswith((".yaml", ".yml")) or "/" in ref:
            path = Path(ref)
            if not path.is_absolute() and self.folder is not None:
                path = self.folder / path
            return path
        return ref


def _format_errors(path: Path, exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']} (got {e.get('input')!r})"[:300]
        for e in exc.errors()
    )


def load_domain_file(path: Path) -> DomainSpec:
    """Load and validate one domain.yaml; errors name the file (and line for YAML errors) and fields."""
    try:
        data = load_yaml(path)
    except YamlFileError as exc:  # names the file and the line (syntax, duplicate key, unreadable)
        raise DomainError(str(exc)) from exc
    if not isinstance(data, dict):
        raise DomainError(f"{path}: top level must be a mapping")
    try:
        spec = DomainSpec.model_validate(data)
    except ValidationError as exc:
        raise DomainError(f"{path}: {_format_errors(path, exc)}") from exc
    if spec.name != path.parent.name:
        raise DomainError(f"{path}: name {spec.name!r} must match its folder name {path.parent.name!r}")
    spec.folder = path.parent
    ref = spec.safety_policy_ref()
    if isinstance(ref, Path) and not ref.is_file():
        raise DomainError(f"{path}: safety_policy file not found: {ref}")
    return spec


def load_domains(extra_dirs: list[Path] | None = None) -> dict[str, DomainSpec]:
    """All domains: the built-in folders first, then each extra dir in order (later ones override)."""
    domains: dict[str, DomainSpec] = {}
    for base in [BUILTIN_DIR, *(extra_dirs or [])]:
        base = Path(base).expanduser()
        if not base.is_dir():
            raise DomainError(f"{base}: domains directory not found")
        for yaml_path in sorted(base.glob(f"*/{DOMAIN_FILE}")):
            spec = load_domain_file(yaml_path)
            domains[spec.name] = spec
    if not domains:
        raise DomainError("no domains found")
    return domains
