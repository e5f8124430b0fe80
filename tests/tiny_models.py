"""Tiny, config-initialised causal LMs for tests: no downloads, built in well under 2 s.

`build_tiny_model(dir, arch)` writes a Hugging Face model directory (Qwen2- or Llama-style, hidden 64,
2 layers, 4 heads) plus a byte-level BPE tokenizer trained on the fly on a small Chinese + English text
(so 【分类】/【要点】/【依据】, 第X条 and common legal/medical words become few tokens), with pad/eos/bos
special tokens and a chat template. `AutoModelForCausalLM` / `AutoTokenizer` load the result offline.

`write_tiny_gguf(path)` writes a tiny llama GGUF file (F32 tensors + a GPT-2 style BPE vocabulary) that
transformers' GGUF loading (`from_pretrained(dir, gguf_file=…)`) accepts.
"""

from __future__ import annotations

import json
from pathlib import Path

CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<pad>", "<s>"]

_CORPUS_LINES = [
    "【分类】劳动合同 【要点】1. 用人单位拖欠工资 2. 劳动者可以解除劳动合同 【依据】《劳动合同法》第三十八条",
    "【分类】医疗 【要点】1. 高血压患者应遵医嘱服药 2. 定期复查血压 【依据】《基本医疗卫生与健康促进法》第十条",
    "第一条 第二条 第三条 第四条 第五条 第十条 第二十条 第三十八条 第四十七条 第一百条",
    "用户：公司拖欠工资怎么办？ 律师：可以依法解除劳动合同并要求经济补偿。",
    "用户：发烧三天需要去医院吗？ 医生：持续高热应及时就医，明确病因。",
    "劳动合同法 民法典 刑法 合同 赔偿 责任 权利 义务 法院 诉讼 仲裁 律师 当事人 证据",
    "医疗 医生 患者 药品 疾病 诊断 治疗 症状 医院 疫苗 传染病 卫生 健康 处方 剂量",
    "本回答仅供参考，不构成法律意见。 本回答不能替代医生的诊断和治疗。",
    "抱歉，我不能提供这方面的帮助。如有需要，请咨询专业人士。",
    "The quick brown fox jumps over the lazy dog. Question answer prompt completion.",
    "Hello world, this is a tiny tokenizer for tests. 0123456789 ，。？！：；（）《》",
]


def _train_tokenizer(out_dir: Path) -> None:
    """Train a byte-level BPE tokenizer on the small corpus and save it as a PreTrainedTokenizerFast."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=600,
        min_frequency=1,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_CORPUS_LINES * 3, trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|im_end|>",
        pad_token="<pad>",
        bos_token="<s>",
        unk_token=None,
        additional_special_tokens=["<|im_start|>", "<|endoftext|>"],
    )
    fast.chat_template = CHAT_TEMPLATE
    fast.model_max_length = 1024
    fast.save_pretrained(out_dir)


def build_tiny_model(dir: Path, arch: str = "qwen2") -> Path:
    """Write a tiny random-initialised causal LM + tokenizer into `dir` and return `dir`.

    `arch` is "qwen2" or "llama". Seeded, so two calls give identical weights.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig, Qwen2Config

    dir = Path(dir)
    dir.mkdir(parents=True, exist_ok=True)
    _train_tokenizer(dir)
    tok = AutoTokenizer.from_pretrained(dir)
    common = dict(
        vocab_size=len(tok),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=1024,
        pad_token_id=tok.pad_token_id,
        eos_token_id=tok.eos_token_id,
        bos_token_id=tok.bos_token_id,
        tie_word_embeddings=False,
    )
    if arch == "qwen2":
        config = Qwen2Config(**common)
    elif arch == "llama":
        config = LlamaConfig(**common)
    else:
        raise ValueError(f"unknown tiny arch {arch!r}; use 'qwen2' or 'llama'")
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config)
    model.save_pretrained(dir)
    return dir


def write_tiny_gguf(path: Path, *, n_layers: int = 2, hidden: int = 64) -> Path:
    """Write a tiny llama-architecture GGUF (F32 weights, BPE vocabulary) that transformers can load.

    The vocabulary is the same trained byte-level BPE as `build_tiny_model`, stored as a "gpt2" tokenizer
    model (tokens + merges), which transformers' GGUF tokenizer converter understands.
    """
    import tempfile

    import gguf
    import numpy as np

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        _train_tokenizer(Path(tmp))
        tok_json = json.loads((Path(tmp) / "tokenizer.json").read_text(encoding="utf-8"))
    vocab: dict[str, int] = dict(tok_json["model"]["vocab"])
    for added in tok_json.get("added_tokens", []):
        vocab[added["content"]] = added["id"]
    tokens = [t for t, _ in sorted(vocab.items(), key=lambda kv: kv[1])]
    merges = [m if isinstance(m, str) else " ".join(m) for m in tok_json["model"]["merges"]]
    n_vocab = len(tokens)
    n_head, n_kv, ff = 4, 2, hidden * 2
    head_dim = hidden // n_head

    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name("tiny-llama")
    writer.add_context_length(1024)
    writer.add_embedding_length(hidden)
    writer.add_block_count(n_layers)
    writer.add_feed_forward_length(ff)
    writer.add_head_count(n_head)
    writer.add_head_count_kv(n_kv)
    writer.add_rope_dimension_count(head_dim)
    writer.add_layer_norm_rms_eps(1e-6)
    writer.add_rope_freq_base(10000.0)
    writer.add_vocab_size(n_vocab)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("default")
    writer.add_token_list(tokens)
    writer.add_token_types(
        [gguf.TokenType.CONTROL if t in SPECIAL_TOKENS else gguf.TokenType.NORMAL for t in tokens]
    )
    writer.add_token_merges(merges)
    writer.add_bos_token_id(vocab["<s>"])
    writer.add_eos_token_id(vocab["<|im_end|>"])
    writer.add_pad_token_id(vocab["<pad>"])
    writer.add_chat_template(CHAT_TEMPLATE)

    rng = np.random.default_rng(0)

    def w(*shape: int) -> np.ndarray:
        return (rng.standard_normal(shape) * 0.02).astype(np.float32)

    writer.add_tensor("token_embd.weight", w(n_vocab, hidden))
    writer.add_tensor("output_norm.weight", np.ones(hidden, dtype=np.float32))
    writer.add_tensor("output.weight", w(n_vocab, hidden))
    for i in range(n_layers):
        writer.add_tensor(f"blk.{i}.attn_norm.weight", np.ones(hidden, dtype=np.float32))
        writer.add_tensor(f"blk.{i}.attn_q.weight", w(hidden, hidden))
        writer.add_tensor(f"blk.{i}.attn_k.weight", w(n_kv * head_dim, hidden))
        writer.add_tensor(f"blk.{i}.attn_v.weight", w(n_kv * head_dim, hidden))
        writer.add_tensor(f"blk.{i}.attn_output.weight", w(hidden, hidden))
        writer.add_tensor(f"blk.{i}.ffn_norm.weight", np.ones(hidden, dtype=np.float32))
        writer.add_tensor(f"blk.{i}.ffn_gate.weight", w(ff, hidden))
        writer.add_tensor(f"blk.{i}.ffn_up.weight", w(ff, hidden))
        writer.add_tensor(f"blk.{i}.ffn_down.weight", w(hidden, ff))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
