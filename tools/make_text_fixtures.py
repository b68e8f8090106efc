#!/usr/bin/env python3
"""Tiny random BERT-family text encoders with their tokenizers and transformers' reference
outputs, for tests/text_stream.rs (TextEncoder + TextTokenizer against transformers).

Run from the repository root:  python3 tools/make_text_fixtures.py
Needs: pip install torch transformers tokenizers safetensors numpy   (CI never runs this; the
outputs are committed.)

For each model in tests/fixtures/text/<name>/ (bert_tiny: BERT/TinyBERT layout with a WordPiece
tokenizer; roberta_tiny: RoBERTa with a byte-level BPE tokenizer, positions offset by the padding
id; distilbert_tiny: DistilBERT keys): config.json, model.safetensors, tokenizer.json, and
reference.json = {texts, ids (per text, special tokens included), hidden_states
[layers + 1][batch][tokens][hidden] of the padded batch with its attention mask, mean and cls
pooled vectors of the last hidden state}.
"""
import json
import pathlib

import numpy as np
import torch
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
from tokenizers.implementations import ByteLevelBPETokenizer
from transformers import (BertConfig, BertModel, DistilBertConfig, DistilBertModel, RobertaConfig,
                          RobertaModel)

OUT = pathlib.Path("tests/fixtures/text")
torch.manual_seed(0)

TEXTS = [
    "What a wonderful day, I am so glad!",
    "The train leaves at nine.",
    "That was terrible and I feel awful about it today",
]
WORDS = sorted(set("what a wonderful day i am so glad the train leaves at nine that was terrible and "
                   "feel awful about it today , ! .".split()))


def wordpiece():
    vocab = {t: i for i, t in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])}
    for w in WORDS:
        vocab.setdefault(w, len(vocab))
    # A few sub-word pieces so that an unknown word splits ("gladness" → glad ##ness).
    for piece in ["##ness", "##s", "##ly"]:
        vocab.setdefault(piece, len(vocab))
    tok = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    return tok, len(vocab)


def bpe():
    t = ByteLevelBPETokenizer()
    t.train_from_iterator(TEXTS * 4, vocab_size=300, min_frequency=1,
                          special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
    t.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0))
    return t, t.get_vocab_size()


def perturb(model):
    with torch.no_grad():
        for _, p in model.named_parameters():
            p.add_(0.05 * torch.randn_like(p))


def dump(name, model, tok, pad_id):
    d = OUT / name
    d.mkdir(parents=True, exist_ok=True)
    model.eval()
    model.save_pretrained(d, safe_serialization=True)
    tok.save(str(d / "tokenizer.json"))
    encs = [tok.encode(t) for t in TEXTS]
    ids = [e.ids for e in encs]
    n = max(len(i) for i in ids)
    batch = torch.full((len(ids), n), pad_id, dtype=torch.long)
    mask = torch.zeros((len(ids), n), dtype=torch.long)
    for r, i in enumerate(ids):
        batch[r, :len(i)] = torch.tensor(i)
        mask[r, :len(i)] = 1
    with torch.no_grad():
        out = model(input_ids=batch, attention_mask=mask, output_hidden_states=True)
    states = torch.stack(out.hidden_states)  # [layers + 1, b, t, d]
    last = states[-1]
    m = mask.unsqueeze(-1).float()
    mean = (last * m).sum(1) / m.sum(1)
    cls = last[:, 0]
    ref = {
        "texts": TEXTS,
        "ids": ids,
        "hidden_states": states.numpy().astype(np.float32).tolist(),
        "mean": mean.numpy().astype(np.float32).tolist(),
        "cls": cls.numpy().astype(np.float32).tolist(),
    }
    (d / "reference.json").write_text(json.dumps(ref))
    print(name, tuple(states.shape), [len(i) for i in ids])


TINY = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
            max_position_embeddings=64, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)

tok, v = wordpiece()
bert = BertModel(BertConfig(vocab_size=v, type_vocab_size=2, pad_token_id=0, **TINY),
                 add_pooling_layer=False)
perturb(bert)
dump("bert_tiny", bert, tok, 0)

tok, v = bpe()
roberta = RobertaModel(RobertaConfig(vocab_size=v, type_vocab_size=1, pad_token_id=1,
                                     bos_token_id=0, eos_token_id=2, **{**TINY, "max_position_embeddings": 66}),
                       add_pooling_layer=False)
perturb(roberta)
dump("roberta_tiny", roberta, tok, 1)

tok, v = wordpiece()
distil = DistilBertModel(DistilBertConfig(vocab_size=v, dim=32, n_layers=2, n_heads=4, hidden_dim=64,
                                          max_position_embeddings=64, dropout=0.0,
                                          attention_dropout=0.0, pad_token_id=0))
perturb(distil)
dump("distilbert_tiny", distil, tok, 0)

(OUT / "provenance.json").write_text(json.dumps({
    "script": "tools/make_text_fixtures.py",
    "torch": torch.__version__,
    "transformers": __import__("transformers").__version__,
    "tokenizers": __import__("tokenizers").__version__,
}, indent=2))
