"""How well the knowledge base answers citizens' questions, and how rarely it answers anything else.

    .venv/bin/python benchmarks/knowledge_accuracy.py [--data tests/data/conversations/dev.jsonl]
    .venv/bin/python benchmarks/knowledge_accuracy.py --ablation      # without words / readings, per question
    .venv/bin/python benchmarks/knowledge_accuracy.py --compare-bm25s # ranking through bm25s too (pip install bm25s)

Prints:
1. consultations of the conversation corpus (`--data`; those whose `expect.answered` names a topic): the
   citizen's messages in order, as the chat sees them; the first one that looks like a question and gets an
   answer is the answer. Answered with the right topic (target >= 90%), answered at all, wrong topic.
2. false answers: the share of non-questions answered: the routing corpus' lines whose type is not 咨询 and
   the triage corpus (`catalogue/training/`), by `answer` alone and as the chat calls it (target <= 3%).
3. the paraphrase set (tests/data/knowledge/questions.jsonl): top-1 entry of `search`, top-3, and `answer`
   giving the right entry; the set of messages that must not be answered (not_answered.jsonl).
4. looks_like_question on the routing corpus: consultations (咨询) recognised, other types taken for one.
5. speed: median and p99 microseconds of `answer` on the questions (target median <= 300 us).
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from language.knowledge import Hit, KnowledgeBase, looks_like_question  # noqa: E402
from language.knowledge.entries import read_entries, read_terms  # noqa: E402

KNOWLEDGE = ROOT / "catalogue" / "knowledge"
CONVERSATIONS = ROOT / "tests" / "data" / "conversations" / "dev.jsonl"
REQUESTS = ROOT / "catalogue" / "training" / "requests.jsonl"
TRIAGE = ROOT / "catalogue" / "training" / "triage.jsonl"
QUESTIONS = ROOT / "tests" / "data" / "knowledge" / "questions.jsonl"
NOT_ANSWERED = ROOT / "tests" / "data" / "knowledge" / "not_answered.jsonl"


def _lines(path: Path) -> list[dict[str, object]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _pct(k: int, n: int) -> str:
    return f"{100 * k / n:5.1f}% ({k}/{n})" if n else "  -  (0/0)"


def build(**options: object) -> KnowledgeBase:
    """The base of the catalogue's files, with the given index options."""
    terms = KNOWLEDGE / "terms.txt"
    return KnowledgeBase(read_entries(KNOWLEDGE), read_terms(terms) if terms.exists() else (), **options)  # type: ignore[arg-type]


def chat_answer(kb: KnowledgeBase, text: str) -> Hit | None:
    """What the chat does with a message: it asks the base only about questions."""
    return kb.answer(text) if looks_like_question(text) else None


def consultations(kb: KnowledgeBase, path: Path, verbose: bool) -> None:
    """Part 1: the conversation corpus' consultations."""
    right = answered = n = 0
    for conv in _lines(path):
        topic = conv.get("expect", {}).get("answered")  # type: ignore[union-attr]
        if not topic:
            continue
        n += 1
        texts = [t.get("text") or t.get("voice") for t in conv["turns"]]  # type: ignore[union-attr]
        hit = next((h for h in (chat_answer(kb, t) for t in texts if t) if h), None)
        answered += hit is not None
        right += hit is not None and hit.entry.topic == topic
        if verbose and (hit is None or hit.entry.topic != topic):
            print(f"   {conv['id']} want {topic}, got {hit.entry.id if hit else None}: {texts[0]}")
    print(f"consultations ({path.name}): right topic {_pct(right, n)}, answered {_pct(answered, n)}, "
          f"wrong topic {_pct(answered - right, n)}")


def false_answers(kb: KnowledgeBase, verbose: bool) -> None:
    """Part 2: non-questions answered."""
    corpora = [("routing, not 咨询", [d["text"] for d in _lines(REQUESTS) if d.get("type") != "咨询"]),
               ("triage", [d["text"] for d in _lines(TRIAGE)])]
    both_alone = both_chat = total = 0
    for name, texts in corpora:
        alone = [t for t in texts if kb.answer(str(t))]
        chat = [t for t in texts if chat_answer(kb, str(t))]
        both_alone += len(alone)
        both_chat += len(chat)
        total += len(texts)
        print(f"false answers, {name}: answer alone {_pct(len(alone), len(texts))}, as the chat asks "
              f"{_pct(len(chat), len(texts))}")
        if verbose:
            for t in alone:
                print(f"   {kb.answer(str(t)).entry.id}: {t}")  # type: ignore[union-attr]
    print(f"false answers, both: answer alone {_pct(both_alone, total)}, as the chat asks {_pct(both_chat, total)}")


def paraphrases(kb: KnowledgeBase, verbose: bool) -> None:
    """Part 3: the paraphrase set and the must-not-answer set."""
    rows = _lines(QUESTIONS)
    top1 = top3 = right = 0
    for row in rows:
        text, want = str(row["text"]), row["id"]
        hits = kb.search(text)
        top1 += bool(hits) and hits[0].entry.id == want
        top3 += any(h.entry.id == want for h in hits)
        got = kb.answer(text)
        right += got is not None and got.entry.id == want
        if verbose and (got is None or got.entry.id != want):
            top = hits[0].entry.id if hits else None
            print(f"   want {want}, got {got.entry.id if got else None} (top {top}): {text}")
    print(f"paraphrases: top-1 entry {_pct(top1, len(rows))}, top-3 {_pct(top3, len(rows))}, "
          f"answered with the right entry {_pct(right, len(rows))}")
    wrong = [r for r in _lines(NOT_ANSWERED) if kb.answer(str(r["text"]))]
    print(f"must not answer: answered {_pct(len(wrong), len(_lines(NOT_ANSWERED)))}")
    if verbose:
        for r in wrong:
            print(f"   {kb.answer(str(r['text'])).entry.id}: {r['text']}")  # type: ignore[union-attr]


def question_detector(verbose: bool) -> None:
    """Part 4: looks_like_question on the routing corpus."""
    rows = _lines(REQUESTS)
    asks = [d for d in rows if d.get("type") == "咨询"]
    others = [d for d in rows if d.get("type") != "咨询"]
    found = [d for d in asks if looks_like_question(str(d["text"]))]
    taken = [d for d in others if looks_like_question(str(d["text"]))]
    print(f"looks_like_question: consultations {_pct(len(found), len(asks))}, "
          f"other types taken for one {_pct(len(taken), len(others))}")
    if verbose:
        for d in taken:
            print(f"   {d['type']}: {d['text']}")


def speed(kb: KnowledgeBase, texts: Iterable[str], call: Callable[[str], object] | None = None) -> str:
    """Median and p99 microseconds of one call over `texts` (each timed alone, five rounds)."""
    fn = call or kb.answer
    texts = list(texts)
    for t in texts:
        fn(t)
    samples: list[float] = []
    clock = time.perf_counter
    gc.collect()
    gc.disable()
    try:
        for _ in range(5):
            for t in texts:
                start = clock()
                fn(t)
                samples.append((clock() - start) * 1e6)
    finally:
        gc.enable()
    samples.sort()
    return f"median {statistics.median(samples):.0f} us, p99 {samples[int(len(samples) * 0.99)]:.0f} us"


def compare_bm25s(kb: KnowledgeBase, texts: list[str]) -> None:
    """The same documents and query terms ranked by bm25s: agreement of the top entry, and speed."""
    import bm25s  # not a dependency of the project: pip install bm25s

    tok = kb._tokeniser  # noqa: SLF001
    docs = [[t for text in (e.title, *e.questions) for t in tok.terms(text)] for e in kb.entries]
    vocab = {t: i for i, t in enumerate(sorted({t for d in docs for t in d}))}
    retriever = bm25s.BM25(k1=1.2, b=0.75)
    retriever.index(bm25s.tokenization.Tokenized(ids=[[vocab[t] for t in d] for d in docs], vocab=vocab),
                    show_progress=False)

    def top(text: str) -> int:
        ids = [vocab[t] for t in tok.terms(text) if t in vocab]
        return int(retriever.get_scores(ids).argmax()) if ids else -1

    ours = [kb.search(t, 1) for t in texts]
    same = sum(bool(h) and kb.entries[top(t)].id == h[0].entry.id for t, h in zip(texts, ours, strict=True))
    # Scoring alone, on queries tokenised beforehand (the tokeniser is the same for both).
    ids = [[vocab[t] for t in tok.terms(text) if t in vocab] for text in texts]
    weighted = [kb._query(text) for text in texts]  # noqa: SLF001
    theirs_us = ours_us = 0.0
    for _ in range(5):  # alternate, so that both see the same load on a shared machine
        started = time.perf_counter()
        for q in ids:
            retriever.get_scores(q).argmax()
        theirs_us += time.perf_counter() - started
        started = time.perf_counter()
        for w in weighted:
            max(kb._index.scores(w).items(), key=lambda item: item[1])  # noqa: SLF001
        ours_us += time.perf_counter() - started
    per = 1e6 / (5 * len(texts))
    print(f"bm25s: same top entry as ours {_pct(same, len(texts))}; scoring one query: bm25s {theirs_us * per:.0f} us, "
          f"ours {ours_us * per:.0f} us (mean)")


def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=CONVERSATIONS, help="conversation corpus (jsonl)")
    parser.add_argument("--verbose", "-v", action="store_true", help="print every miss")
    parser.add_argument("--ablation", action="store_true", help="also measure without words, readings")
    parser.add_argument("--compare-bm25s", action="store_true", help="rank through bm25s too (needs bm25s)")
    args = parser.parse_args()

    started = time.perf_counter()
    kb = build()
    print(f"{len(kb.entries)} entries in {len({e.topic for e in kb.entries})} topics, "
          f"loaded and indexed in {time.perf_counter() - started:.2f} s")
    consultations(kb, args.data, args.verbose)
    false_answers(kb, args.verbose)
    paraphrases(kb, args.verbose)
    question_detector(args.verbose)
    questions = [str(r["text"]) for r in _lines(QUESTIONS)]
    print(f"speed of answer: {speed(kb, questions)}")
    if args.ablation:
        for label, options in (("no jieba words", {"words": False}), ("no readings", {"phonetic": False}),
                               ("one document per question", {"unit": "question"})):
            print(f"--- {label}")
            variant = build(**options)
            consultations(variant, args.data, False)
            false_answers(variant, False)
            paraphrases(variant, False)
            print(f"speed of answer: {speed(variant, questions)}")
    if args.compare_bm25s:
        compare_bm25s(kb, questions)


if __name__ == "__main__":
    main()
