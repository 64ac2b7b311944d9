"""`chaos bisect SCENARIO --good V1 --bad V2`: the first LiteLLM release where a scenario's verdict
(or one invariant) changes.

The releases between V1 and V2 come from the package index (final releases unless asked;
denylisted ones skipped; both ends checked first; one between them that cannot be installed here
is `unusable` when the search reaches it, and said so). Each tried
version gets its cached environment (its own schema migrations, as always) and runs the scenario
`tries` times: all the same outcome gives good or bad, a mix is `flaky`, and the search says so. A
version none of whose runs could be judged (it does not start here, say, or the run aborted) is
`unusable`: the search leaves it out, like `git bisect skip`, and names it in its answer.
Good may be older or newer than bad (a regression, or a fix). A binary search over the installable
releases; the answer is the release that brought the change (the newer side of it; a set of releases
when unusable ones lie on the boundary), with the table of every version tried (outcome, evidence
folders)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from chaos.errors import UsageError
from chaos.litellm.releases import Release, releases, version_key, why_not_installable
from chaos.litellm.versions import COMPROMISED_LITELLM_VERSIONS, check_litellm_version
from chaos.oracle.invariants import CHECKERS
from chaos.oracle.verdict import FAILED, PASS

GOOD, BAD, FLAKY, UNUSABLE = "good", "bad", "flaky", "unusable"


@dataclass
class Tried:
    version: str
    outcome: str  # good | bad | flaky | unusable
    statuses: list[str]
    evidence: list[str] = field(default_factory=list)


def candidates(good: str, bad: str, include_prereleases: bool) -> tuple[list[str], list[tuple[str, str]]]:
    """The releases from good to bad inclusive, in that direction; and those left out (why). Both
    ends are checked first (well formed, not compromised, on the index, installable here: one line
    naming the end that is not); the releases between are resolved only when the search tries one
    (an uninstallable one is then `unusable`), so listing takes one read of the index."""
    if good == bad:
        raise UsageError(f"--good and --bad are the same version ({good}); name two releases")
    for name, v in (("--good", good), ("--bad", bad)):
        check_litellm_version(v, name)
    known = {r.version: r for r in releases()}
    for name, v in (("--good", good), ("--bad", bad)):
        if v not in known:
            raise UsageError(f"{name} {v}: no such release on the package index; `chaos env --list` shows what is")
    with ThreadPoolExecutor(2) as pool:
        whys = list(pool.map(lambda v: why_not_installable(known[v]), (good, bad)))
    for name, v, why in zip(("--good", "--bad"), (good, bad), whys):
        if why:
            raise UsageError(f"{name} {v} cannot be installed here: {why}; `chaos env --list --since {v}` shows what can")
    lo, hi = sorted((good, bad), key=version_key)
    picked = [r for r in known.values() if version_key(lo) <= r.key <= version_key(hi)
              and (include_prereleases or not r.prerelease or r.version in (good, bad))]
    picked.sort(key=lambda r: r.key, reverse=version_key(good) > version_key(bad))
    skipped = [(r.version, "denylisted (reported compromised)") for r in picked if r.version in COMPROMISED_LITELLM_VERSIONS]
    kept = [r.version for r in picked if r.version not in COMPROMISED_LITELLM_VERSIONS]
    if len(kept) < 2:
        raise UsageError(f"no release to run between {good} and {bad}")
    return kept, skipped


def judge(statuses: list[str]) -> str:
    """The outcome of a version's runs; a run that could not judge (aborted, not checked) does not count."""
    judged = [s for s in statuses if s in (PASS, FAILED)]
    if not judged:
        return UNUSABLE
    if all(s == PASS for s in judged):
        return GOOD
    if all(s == FAILED for s in judged):
        return BAD
    return FLAKY


def bisect(versions: list[str], outcome_of) -> tuple[str | None, list[Tried], str]:
    """versions[0] is good, versions[-1] bad; outcome_of(version) -> Tried. Returns (the release that
    brought the change, every version tried, a one-line conclusion)."""
    tried = {v: outcome_of(v) for v in (versions[0], versions[-1])}
    if tried[versions[0]].outcome != GOOD or tried[versions[-1]].outcome != BAD:
        return None, list(tried.values()), (f"the ends do not hold: {versions[0]} is {tried[versions[0]].outcome}, "
                                            f"{versions[-1]} is {tried[versions[-1]].outcome}")
    live = list(versions)  # the unusable ones leave it
    lo, hi = 0, len(live) - 1  # live[lo] good, live[hi] bad
    while hi - lo > 1:
        mid = (lo + hi) // 2
        t = tried.setdefault(live[mid], outcome_of(live[mid]))
        if t.outcome == UNUSABLE:
            del live[mid]
            hi -= 1
            continue
        if t.outcome == FLAKY:
            return None, _in_order(tried, versions), (f"{live[mid]} is flaky (runs disagree: {t.statuses}); "
                                                     f"the change is between {live[lo]} and {live[hi]}")
        lo, hi = (mid, hi) if t.outcome == GOOD else (lo, mid)
    return _conclude(versions, live[lo], live[hi], _in_order(tried, versions))


def _conclude(versions: list[str], good: str, bad: str, tried: list[Tried]) -> tuple[str, list[Tried], str]:
    """Good and bad are adjacent among the releases that could be judged. The change came with the
    newer of the two, or with an unusable release between them (git bisect's "could be any of")."""
    regression = version_key(versions[0]) < version_key(versions[-1])  # the good end is the older one
    (older, newer), new_outcome = ((good, bad), BAD) if regression else ((bad, good), GOOD)
    unjudged = versions[versions.index(good) + 1:versions.index(bad)]  # each was tried and found unusable
    skipped = [t.version for t in tried if t.outcome == UNUSABLE]
    kind, old_outcome = ("a regression", GOOD) if regression else ("a fix", BAD)
    said = f"{newer} is the first {new_outcome} release ({kind}; the last {old_outcome} one before it: {older})"
    if unjudged:
        said = (f"the change ({kind}) came in one of {', '.join(sorted([*unjudged, newer], key=version_key))}: "
                f"{older} is the last {old_outcome} release, {newer} the first {new_outcome} one that could be run here")
    return newer, tried, said + (f"; left out as unusable here: {', '.join(skipped)}" if skipped else "")


def _in_order(tried: dict[str, Tried], versions: list[str]) -> list[Tried]:
    return sorted(tried.values(), key=lambda t: versions.index(t.version))


def check_invariant(name: str | None) -> None:
    if name is not None and name not in CHECKERS:
        raise UsageError(f"--invariant {name!r} does not exist; expected one of: {', '.join(CHECKERS)}")


__all__ = ["BAD", "FLAKY", "GOOD", "UNUSABLE", "Release", "Tried", "bisect", "candidates", "check_invariant", "judge"]
