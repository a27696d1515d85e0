"""A tiny Llama-style model with random weights and a locally trained tokenizer, for the real-vLLM test.

Nothing is downloaded: the tokenizer is a byte-level BPE trained here on the NLU's own
prompt (so it covers every character the prompt uses, and any other text falls back to
bytes), with a chat template for /v1/chat/completions; the model is a 2-layer Llama
whose weights are drawn from a fixed seed. Its answers are garbage, but vLLM's
structured output still holds them to the command schema: that is what the test is
about. head_dim is 32 because vLLM's CPU attention takes 32, 64 or 128 (16 fails).

Run in the vLLM environment: python -m tests.nlu_llm.tiny_model OUT_DIR
"""

from __future__ import annotations

import sys
from pathlib import Path

CHAT_TEMPLATE = (
    "{% for message in messages %}<|{{ message['role'] }}|>\n{{ message['content'] }}</s>\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)
SPECIAL_TOKENS = ["<pad>", "<s>", "</s>"]


def training_text() -> list[str]:
    """What the tokenizer learns merges from: the prompt the parser sends, both languages."""
    from services.nlu.llm.prompt import build_messages

    return [m["content"] for m in build_messages("把A100的价格改成99元")] + ["set the price of A100 to 99"]


def build(out_dir: Path, seed: int = 0) -> Path:
    """Write tokenizer and model files into ``out_dir``; return it (a model path for vLLM)."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    out_dir.mkdir(parents=True, exist_ok=True)
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=1024, special_tokens=SPECIAL_TOKENS, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    bpe.train_from_iterator(training_text(), trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe, bos_token="<s>", eos_token="</s>", pad_token="<pad>", chat_template=CHAT_TEMPLATE
    )
    tokenizer.save_pretrained(out_dir)

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        head_dim=32,
        max_position_embeddings=8192,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=False,
    )
    model = LlamaForCausalLM(config).to(torch.float32)
    model.save_pretrained(out_dir)
    return out_dir


if __name__ == "__main__":
    print(build(Path(sys.argv[1])))
