"""Pairs of learners whose solutions to one exercise are unusually alike, for an instructor to read.

A reported pair is a reason to look at two cells side by side, never a verdict by itself.

How a solution cell becomes fingerprints (the MOSS approach: Schleimer, Wilkerson and Aiken,
"Winnowing: Local Algorithms for Document Fingerprinting", SIGMOD 2003):

1. Tokens, normalised with `tokenize` and `ast` so that the usual disguises change nothing:
   comments, docstrings (any bare string statement), blank lines, line breaks inside brackets,
   grouping parentheses (`return (a, b)`), dangling commas and import statements are dropped
   (imports, so that their order does not matter); a block on its header's line (`if done:
   return`) reads as one on lines of its own; numbers are read (`1_000` is `1000`); IPython
   `%magic` and `!shell` lines are ignored; every name the cell itself binds
   (functions, classes, parameters, variables, import aliases, attributes set on `self`) becomes
   one placeholder. Names it does not bind are kept: library and course APIs (`select`,
   `scalars`, `begin`, `User`, `text`) and keyword arguments (`expire_on_commit=`) are the
   substance of an answer in this course, and a copier cannot rename them without breaking it,
   so keeping them makes different answers less alike without making a disguised copy any less
   alike. A string literal becomes one placeholder (message text is free to change), except SQL
   (it starts with SELECT, INSERT, WITH, …), kept as its lower-cased words since in the raw-SQL
   exercises the query is the answer, and a single word such as "control_fully" or "23505",
   kept as it is since it is a value the code depends on, not prose.
2. Hashes of every run of `kgram` consecutive tokens, winnowed: in every window of `window`
   consecutive hashes the smallest (the rightmost on ties) is kept. Any shared run of at least
   kgram + window - 1 tokens shares a fingerprint; runs shorter than kgram never do.
3. Discounted: fingerprints of the released starter code (every k-gram of it, not only its
   winnowed ones), and fingerprints found in more than `common_share` of the class's
   submissions for the exercise (in classes of at least `min_class_size`), do not count.

A cell that does not parse (a syntax error) is compared by lines instead: comments and blank
lines dropped, string literals and spacing normalised, one fingerprint per distinct line. A
pair in which either cell does not parse is compared this way on both sides.

The score of a pair is the Jaccard index of its two fingerprint sets. A pair is reported when
both cells keep at least `min_fingerprints` after discounting (a one-line answer is the same for
everyone), its score is at least `min_similarity`, and, in a class of at least `min_class_size`,
it is an outlier among the exercise's pair scores: above their median by more than
`outlier_mads` scaled median absolute deviations (a robust mean + 3σ). The median and MAD barely
move when a group of learners shares one solution, where a 95th percentile or σ rises with the
group and would hide some of its pairs.

Cost: one set intersection per pair; a class of 300 is 44,850 pairs per exercise. 300 cells of
30 lines take 1.3 to 1.6 s, most of it tokenizing (measured on a busy 2-core machine).
"""

from __future__ import annotations

import ast
import io
import keyword
import re
import statistics
import tokenize
import warnings
import zlib
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from itertools import combinations
from typing import TypeVar

T = TypeVar("T")
Position = tuple[int, int]  # (line, column), as tokenize and ast give them

# Tokens that stand for something; none can be confused with a token of the source.
NEWLINE = "<newline>"
INDENT = "<indent>"
DEDENT = "<dedent>"
NAME = "<name>"  # a name the cell binds
STRING = "<string>"  # the text of a string literal
# A comma before these is dangling: `f(a, b,)`, `for (x,) in rows` and `for x, in rows` are alike.
AFTER_DANGLING_COMMA = {")", "]", "}", "in", "=", ";"}
SQL_START = re.compile(
    r"\s*(select|insert|update|delete|with|values|create|alter|drop|copy|lock|set|explain)\b",
    re.IGNORECASE,
)
SQL_WORD = re.compile(r"\w+|[^\w\s]")
WORDLIKE = re.compile(r"[\w.:/@+-]{1,40}")  # "control_fully", "23505", a URL: a value, not prose
# Line mode: one-line string literals, and lines that carry nothing once normalised.
LINE_STRING = re.compile(
    r"""[rRbBuUfF]{0,2}("[^"\\\n]*(?:\\.[^"\\\n]*)*"|'[^'\\\n]*(?:\\.[^'\\\n]*)*')"""
)
PUNCTUATION_SPACE = re.compile(r"\s*([^\w\s])\s*")
TRIVIAL_LINE = re.compile(r"^(S|[\W_]*)$")  # only a string, or only punctuation
FSTRING_START = getattr(tokenize, "FSTRING_START", None)  # Python 3.12 splits f-strings up
FSTRING_END = getattr(tokenize, "FSTRING_END", None)


@dataclass(frozen=True)
class SimilarPair:
    exercise: str  # the solution cell's grade_id
    first: str  # student ids, first < second
    second: str
    similarity: float  # Jaccard index of the two cells' fingerprints after discounting, 0 to 1
    shared: int  # fingerprints the two cells have in common after discounting


@dataclass(frozen=True)
class SimilarityOptions:
    min_similarity: float = 0.8  # a reported pair scores at least this
    outlier_mads: float = 3.0  # … and beats the exercise's median pair score by this many MADs
    common_share: float = 0.5  # fingerprints in more than this share of the class do not count
    min_class_size: int = 4  # smaller classes: no class-wide discount, no outlier rule
    min_fingerprints: int = 8  # cells with fewer fingerprints left are never reported
    kgram: int = 8  # tokens per hashed run: shorter shared runs never count
    window: int = 4  # winnowing window: shared runs of kgram + window - 1 tokens always count


@dataclass(frozen=True)
class _Fingerprints:
    tokens: frozenset[int] | None  # None when the cell does not parse
    lines: frozenset[int]


def exercise_similarity(
    exercise: str,
    sources: Mapping[str, str],
    starter: str = "",
    options: SimilarityOptions | None = None,
) -> list[SimilarPair]:
    """The unusually alike pairs among `sources` (student → solution cell source), most alike
    first. `starter` is the cell as released: code shared because of it does not count."""
    options = options or SimilarityOptions()
    comparable = _Comparable.of(sources, starter, options)
    scores: list[float] = []
    candidates: list[SimilarPair] = []
    for first, second in combinations(sorted(sources), 2):
        a, b = comparable.pair(first, second)
        shared = len(a & b)
        union = len(a) + len(b) - shared
        score = shared / union if union else 0.0
        scores.append(score)
        big_enough = min(len(a), len(b)) >= options.min_fingerprints
        if big_enough and score >= options.min_similarity:
            candidates.append(SimilarPair(exercise, first, second, score, shared))
    bar = _outlier_bar(scores, options.outlier_mads) if comparable.class_wide else -1.0
    found = [pair for pair in candidates if pair.similarity > bar]
    return sorted(found, key=lambda p: (-p.similarity, -p.shared, p.first, p.second))


def class_similarity(
    notebook_sources: Mapping[str, Mapping[str, str]],
    starters: Mapping[str, str],
    options: SimilarityOptions | None = None,
) -> list[SimilarPair]:
    """`exercise_similarity` for every exercise of one notebook: `notebook_sources` is student →
    grade_id → source, `starters` grade_id → released source. Most alike first, across exercises."""
    by_exercise: dict[str, dict[str, str]] = {}
    for student, cells in notebook_sources.items():
        for grade_id, source in cells.items():
            by_exercise.setdefault(grade_id, {})[student] = source
    found = [
        pair
        for grade_id, sources in sorted(by_exercise.items())
        for pair in exercise_similarity(grade_id, sources, starters.get(grade_id, ""), options)
    ]
    return sorted(found, key=lambda p: (-p.similarity, -p.shared, p.exercise, p.first, p.second))


def fingerprint_counts(
    sources: Mapping[str, str], starter: str = "", options: SimilarityOptions | None = None
) -> dict[str, int]:
    """Student → how many fingerprints their cell keeps after discounting (of its tokens, or of
    its lines when it does not parse). Below `min_fingerprints` it is too small to compare."""
    options = options or SimilarityOptions()
    comparable = _Comparable.of(sources, starter, options)
    return {student: len(comparable.own(student)) for student in sources}


@dataclass(frozen=True)
class _Comparable:
    """One exercise's fingerprints after discounting, by tokens and by lines."""

    by_tokens: dict[str, frozenset[int]]  # the cells that parse
    by_lines: dict[str, frozenset[int]]  # every cell
    class_wide: bool  # the class is big enough for the class-wide rules

    @classmethod
    def of(
        cls, sources: Mapping[str, str], starter: str, options: SimilarityOptions
    ) -> _Comparable:
        prints = {student: _fingerprints(source, options) for student, source in sources.items()}
        base = _starter_fingerprints(starter, options)
        class_wide = len(prints) >= options.min_class_size
        parsed = {s: p.tokens for s, p in prints.items() if p.tokens is not None}
        lines = {s: p.lines for s, p in prints.items()}
        return cls(
            _discounted(parsed, base.tokens or frozenset(), options, class_wide),
            _discounted(lines, base.lines, options, class_wide),
            class_wide,
        )

    def pair(self, first: str, second: str) -> tuple[frozenset[int], frozenset[int]]:
        """Both by tokens when both parse, else both by lines."""
        if first in self.by_tokens and second in self.by_tokens:
            return self.by_tokens[first], self.by_tokens[second]
        return self.by_lines[first], self.by_lines[second]

    def own(self, student: str) -> frozenset[int]:
        return self.by_tokens.get(student, self.by_lines[student])


def _fingerprints(source: str, options: SimilarityOptions) -> _Fingerprints:
    """The winnowed token fingerprints of one cell (None if it does not parse), and its lines'."""
    tokens = normalised_tokens(source)
    winnowed = None
    if tokens is not None:
        winnowed = frozenset(_winnow(_kgram_hashes(tokens, options.kgram), options.window))
    return _Fingerprints(winnowed, frozenset(_line_hashes(source)))


def _starter_fingerprints(source: str, options: SimilarityOptions) -> _Fingerprints:
    """Every k-gram hash of the starter code, not only the winnowed ones: a learner's window may
    pick a starter k-gram the starter's own windows passed over."""
    tokens = normalised_tokens(source)
    hashes = frozenset(_kgram_hashes(tokens, options.kgram)) if tokens is not None else None
    return _Fingerprints(hashes, frozenset(_line_hashes(source)))


def normalised_tokens(source: str) -> list[str] | None:
    """The cell as a token sequence that survives renaming and reformatting, or None if it does
    not parse."""
    source = _without_magics(source)
    try:
        tree = _quietly(ast.parse, source)
    except (SyntaxError, ValueError):  # ValueError: a null byte
        return None
    facts = _Facts.of(tree, source)
    try:
        return _normalise(tokenize.generate_tokens(io.StringIO(source).readline), facts)
    except (tokenize.TokenError, SyntaxError):
        return None


@dataclass
class _Facts:
    """What `ast` knows about a cell that its tokens do not say."""

    bound: set[str]  # names the cell binds
    own_attributes: set[str]  # attributes its methods set on their instance
    keyword_arguments: set[Position]  # where `name=` in a call starts
    block_starts: set[Position]  # where the first statement of every block starts
    dropped: list[tuple[Position, Position]]  # bare strings (docstrings) and imports
    lines: list[bytes]  # the source's, to turn ast's byte offsets into tokenize's columns

    @classmethod
    def of(cls, tree: ast.Module, source: str) -> _Facts:
        lines = [line.encode() for line in source.split("\n")]
        facts = cls(set(), set(), set(), set(), [], lines)
        for node in ast.walk(tree):
            facts._learn(node)
        return facts

    def _at(self, line: int, offset: int) -> Position:
        """ast's (line, UTF-8 byte offset) as tokenize's (line, character)."""
        text = self.lines[line - 1] if 0 < line <= len(self.lines) else b""
        return line, len(text[:offset].decode(errors="replace"))

    def _learn(self, node: ast.AST) -> None:
        for field in ("body", "orelse", "finalbody"):
            block = getattr(node, field, None)
            if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
                self.block_starts.add(self._at(block[0].lineno, block[0].col_offset))
        match node:
            case ast.FunctionDef() | ast.AsyncFunctionDef() | ast.ClassDef():
                self.bound.add(node.name)
                if isinstance(node, ast.ClassDef):
                    self._learn_instance_attributes(node)
            case ast.arg():
                self.bound.add(node.arg)
            case ast.Name(ctx=ast.Store() | ast.Del()):
                self.bound.add(node.id)
            case ast.alias(asname=str(alias)):
                self.bound.add(alias)
            case ast.ExceptHandler(name=str(name)) | ast.MatchAs(name=str(name)):
                self.bound.add(name)
            case ast.MatchStar(name=str(name)) | ast.MatchMapping(rest=str(name)):
                self.bound.add(name)
            case ast.Global() | ast.Nonlocal():
                self.bound.update(node.names)
            case ast.keyword(arg=str()):
                self.keyword_arguments.add(self._at(node.lineno, node.col_offset))
            case ast.Import() | ast.ImportFrom() | ast.Expr(value=ast.Constant(value=str())):
                self._drop(node)

    def _learn_instance_attributes(self, node: ast.ClassDef) -> None:
        for method in node.body:
            if not isinstance(method, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            parameters = [*method.args.posonlyargs, *method.args.args]
            if not parameters:
                continue
            receiver = parameters[0].arg
            for inner in ast.walk(method):
                match inner:
                    case ast.Attribute(value=ast.Name(id=name), ctx=ast.Store()) if (
                        name == receiver
                    ):
                        self.own_attributes.add(inner.attr)

    def _drop(self, node: ast.stmt) -> None:
        end = self._at(node.end_lineno or node.lineno, node.end_col_offset or 0)
        self.dropped.append((self._at(node.lineno, node.col_offset), end))

    def is_dropped(self, at: Position) -> bool:
        return any(start <= at < end for start, end in self.dropped)


def _normalise(tokens: Iterator[tokenize.TokenInfo], facts: _Facts) -> list[str]:
    out: list[str] = []
    strings: list[str] = []  # adjacent literals, concatenated as Python does
    previous = ""  # the last significant token as written
    previous_kind = tokenize.OP
    parentheses: list[bool] = []  # for each open "(": is it a call's (kept) or grouping (dropped)
    fstring_depth = 0
    inline_blocks = 0  # blocks written on their header's line: `if done: return`
    for token in tokens:
        kind, text = token.type, token.string
        if kind in (tokenize.COMMENT, tokenize.NL, tokenize.ENCODING, tokenize.ENDMARKER):
            continue
        if facts.is_dropped(token.start):
            continue
        if kind == FSTRING_START:
            fstring_depth += 1
            continue
        if fstring_depth:
            if kind == FSTRING_END:
                fstring_depth -= 1
                if not fstring_depth:
                    strings.append('f""')
            continue
        if kind == tokenize.STRING:
            strings.append(text)
            continue
        if strings:
            out.extend(_string_tokens(strings))
            strings = []
        if out and out[-1] == "," and (text in AFTER_DANGLING_COMMA or kind == tokenize.NEWLINE):
            out.pop()
        if previous == ":" and token.start in facts.block_starts:
            out += [NEWLINE, INDENT]  # as if the block were on lines of its own
            inline_blocks += 1
        if kind == tokenize.NEWLINE or text == ";":
            # One statement end, whatever was dropped before it (a docstring, an import).
            if out and out[-1] not in (NEWLINE, INDENT, DEDENT):
                out.append(NEWLINE)
            if kind == tokenize.NEWLINE:
                out += [DEDENT] * inline_blocks
                inline_blocks = 0
        elif kind == tokenize.INDENT:
            out.append(INDENT)
        elif kind == tokenize.DEDENT:
            out.append(DEDENT)
        elif kind == tokenize.NAME:
            out.append(_name(text, token.start, previous == ".", facts))
        elif kind == tokenize.NUMBER:
            out.append(_number(text))
        else:
            if text == "(":
                parentheses.append(_opens_call(previous, previous_kind))
                if parentheses[-1]:
                    out.append(text)
            elif text != ")" or not parentheses or parentheses.pop():
                out.append(text)
        previous, previous_kind = text, kind
    if strings:
        out.extend(_string_tokens(strings))
    return out


def _opens_call(previous: str, previous_kind: int) -> bool:
    """Whether "(" after this token calls, defines or subclasses (kept), or only groups, as in
    `return (a, b)` or a long condition wrapped in parentheses (dropped: formatters add and
    remove those)."""
    if previous_kind == tokenize.NAME:
        return not keyword.iskeyword(previous)
    return previous in (")", "]")


def _name(text: str, at: Position, attribute: bool, facts: _Facts) -> str:
    if keyword.iskeyword(text) or at in facts.keyword_arguments:
        return text
    if attribute:
        return NAME if text in facts.own_attributes else text
    return NAME if text in facts.bound else text


def _number(text: str) -> str:
    """`1_000`, `1000` and `0x3e8` are one number."""
    try:
        return repr(_quietly(ast.literal_eval, text))
    except (ValueError, SyntaxError):
        return text


def _string_tokens(literals: list[str]) -> list[str]:
    try:
        values = [_quietly(ast.literal_eval, literal) for literal in literals]
    except (ValueError, SyntaxError):  # an f-string
        return [STRING]
    if not all(isinstance(value, str) for value in values):
        return [STRING]
    text = "".join(values)
    if SQL_START.match(text):
        return [STRING, *(word.lower() for word in SQL_WORD.findall(text))]
    if WORDLIKE.fullmatch(text):
        return [f"{STRING}:{text}"]
    return [STRING]


def _quietly(parse: Callable[[str], T], source: str) -> T:
    """Parse without the SyntaxWarnings a learner's `"\\d"` or `x is 1` raise: they are no
    concern of this report (and would be errors under `-W error`)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return parse(source)


def _without_magics(source: str) -> str:
    """IPython's `%magic` and `!shell` lines blanked (they are not Python), lines kept in place."""
    return "\n".join(
        "" if line.lstrip().startswith(("%", "!")) else line for line in source.split("\n")
    )


def _kgram_hashes(tokens: list[str], k: int) -> list[int]:
    # crc32 and the hash of a tuple of ints are the same in every process (str hashes are not).
    codes = [zlib.crc32(token.encode()) for token in tokens]
    if len(codes) < k:
        return [hash(tuple(codes))] if codes else []
    return [hash(tuple(codes[i : i + k])) for i in range(len(codes) - k + 1)]


def _winnow(hashes: list[int], window: int) -> set[int]:
    """Robust winnowing: the minimum of every window, the rightmost one on ties, each position
    recorded once."""
    if len(hashes) <= window:
        return {min(hashes)} if hashes else set()
    chosen: set[int] = set()
    at = -1
    for start in range(len(hashes) - window + 1):
        span = hashes[start : start + window]
        smallest = min(span)
        position = start + window - 1 - span[::-1].index(smallest)
        if position != at:
            chosen.add(smallest)
            at = position
    return chosen


def _line_hashes(source: str) -> Iterator[int]:
    for line in source.splitlines():
        text = LINE_STRING.sub("S", line).split("#", 1)[0]
        text = PUNCTUATION_SPACE.sub(r"\1", " ".join(text.split()))
        if not TRIVIAL_LINE.match(text):
            yield zlib.crc32(text.encode())


def _discounted(
    prints: Mapping[str, frozenset[int]],
    starter: frozenset[int],
    options: SimilarityOptions,
    class_wide: bool,
) -> dict[str, frozenset[int]]:
    common: set[int] = set()
    if class_wide and prints:
        counts = Counter(h for fingerprints in prints.values() for h in fingerprints)
        most = options.common_share * len(prints)
        common = {h for h, count in counts.items() if count > most}
    return {student: p - starter - common for student, p in prints.items()}


def _outlier_bar(scores: list[float], mads: float) -> float:
    """The score a pair must beat to stand out: the median plus `mads` median absolute
    deviations, scaled by 1.4826 to estimate σ for normally distributed scores."""
    if not scores:
        return 0.0
    median = statistics.median(scores)
    deviation = statistics.median(abs(score - median) for score in scores)
    return median + mads * 1.4826 * deviation
