"""NSGA-II search over pipelines: maximise validation r², minimise the SNP count (StarBASE-GP).

Objectives. A pipeline's score is its r² on the validation samples and its complexity, the
number of SNPs that reach the regressor (after LD pruning and feature selection; paper
section III-B4). Pareto ranks, crowding distances and survival come from DEAP
(``sortNondominated``, ``assignCrowdingDist``, ``selNSGA2``) on the pair

    (r², simplicity),  simplicity = 1 - (n_snps - 1) / (max_snps - 1),

both maximised; simplicity is the paper's normalisation of complexity (section IV-C2: minus
the least possible count 1, over the range max_snps - 1, subtracted from 1), a monotone
map of the SNP count, so dominance is unchanged. The hypervolume of a generation is the area
dominated by its population in that plane above the reference point (0, 0): r² = 0 (no
better than the validation mean) and simplicity = 0 (max_snps SNPs). The paper does not
state its reference point; (0, 0) is the worst admissible value of each objective, since
pipelines with negative r² are discarded. The largest possible hypervolume is 1.

Generations (paper Algorithm 1). The initial population is ``population`` random pipelines.
Each generation makes ``2 * population`` offspring from parents picked by binary tournament
(lower Pareto rank, then larger crowding distance). An offspring inherits the SNPs that
reached its parent's regressor (section III-D) and the parent's nodes; crossover
(probability ``crossover_prob``) takes each node from either parent and a random subset of
the two parents' SNPs of a size drawn from [min_snps, max_snps]; mutation (always for
non-crossover offspring, with probability ``mutation_prob`` after crossover) moves one
hyperparameter of one node with probability ``node_mutation_prob`` and applies one SNP
operation: move a SNP (replace it by a recommended one), add a recommended SNP, or remove
one. A recommendation is drawn near an anchor SNP of the pipeline: in its bin, elsewhere on
its chromosome, or anywhere (equal chances, section III-D3), falling back to anywhere when
the first choice has no candidate. Offspring are then topped up with recommended SNPs to
``min_snps`` or cut at random to ``max_snps``.

Survival. Offspring whose fit fails (e.g. no SNP survives selection) or whose r² is negative
are dropped (section III-C); among offspring sending the same SNP set to the regressor one,
drawn at random, is kept; NSGA-II selection then keeps ``population`` of them. Parents do not
compete: "only offspring undergo survival selection, diverging from the original NSGA-II",
and if fewer offspring remain than ``population``, all survive (section III-C). Should none
remain, the parents are kept; while no pipeline has yet scored r² >= 0 (an empty
population), offspring are random pipelines.

Modes.

- ``starbase``: SNP-database guided. Candidate SNPs are the considered ones of the SNP
  database, minus those any pipeline's LD pruning has dropped (section III-A3); each enters
  with its best encoding. Initial SNPs are drawn weighted by marginal r²; a crossover subset
  or a recommendation is weighted by marginal r² with probability ``smart_prob``, uniform
  otherwise.
- ``basic``: no SNP-database guidance: every SNP is a candidate, drawn uniformly, entering
  with the additive encoding; node mutation may also change one SNP's encoding at random.
  Unlike the paper's basic GP the LD-pruning node stays (pipelines here always have one).
- ``random``: unguided control: every generation ``2 * population`` new random pipelines
  (uniform SNPs, best encodings), so the evaluation budget equals the other modes'; the
  population is the NSGA-II selection of the old population and the new pipelines, so the
  final front is that of (nearly) every pipeline evaluated, as in the paper's random control.

Evaluation. Fits run in parallel (joblib, ``n_jobs``) and are cached by pipeline JSON (SNPs
sorted by column, every pipeline fitted with seed ``seed``), so an identical pipeline is
never refitted within a run (the cache lives in memory: a resumed run may refit a pipeline
seen before the interruption, with the same result). After every generation a JSON checkpoint is written
atomically; a run given the same checkpoint path resumes after its last generation and
continues the same random stream, so it ends as an uninterrupted run would. The checkpoint
records a fingerprint of the settings that shape the search (all but ``generations``, which
may be raised to extend a run, and ``n_jobs``) and of the data; resuming with a different
fingerprint raises InputError naming the differing keys, or starts afresh when asked to
(``restart_stale``: the workflow, whose config is the truth).
"""

from __future__ import annotations

import hashlib
import json
import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from deap import base, tools
from deap.benchmarks.tools import hypervolume as deap_hypervolume
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import r2_score
from tqdm.auto import tqdm

from phenomap.errors import InputError
from phenomap.gpsearch.encodings import ENCODINGS
from phenomap.gpsearch.nodes import LDPruneNode, Pipeline, RegressorNode, SelectorNode, SnpNode
from phenomap.gpsearch.snpdb import check_phenotype_split
from phenomap.io.tables import atomic_path

MODES = ("starbase", "basic", "random")
#: Settings that do not change the trajectory of a run, left out of the checkpoint fingerprint.
NOT_FINGERPRINTED = ("generations", "n_jobs")
CHECKPOINT_VERSION = 1

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SearchSettings:
    """Settings of one search; defaults are the paper's (Table I) unless noted.

    population: pipelines kept per generation (150). generations: generations after the
    initial population (100; with 2 × population offspring each, 150 + 100 × 300 = 30,150
    evaluations, the paper's budget). min_snps, max_snps: SNPs per pipeline (50, 150: a
    tenth of the 1,583 training samples, the 10× rule, section IV-B). mode: see the module
    text. seed: random stream and estimator seed. n_jobs: parallel fits (joblib; not in the
    paper). crossover_prob: share of offspring made by crossover (0.5). mutation_prob:
    chance a crossover offspring is also mutated (0.5). smart_prob: chance a ``starbase``
    draw is weighted by marginal r² ("smart strategy", 0.25). node_mutation_prob: chance a
    mutation also moves a node hyperparameter ("LD, selector, regressor tuning", 0.5).
    selectors, regressors: node kinds drawn from (default all seven of each, section III-B).
    """

    population: int = 150
    generations: int = 100
    min_snps: int = 50
    max_snps: int = 150
    mode: str = "starbase"
    seed: int = 0
    n_jobs: int = 1
    crossover_prob: float = 0.5
    mutation_prob: float = 0.5
    smart_prob: float = 0.25
    node_mutation_prob: float = 0.5
    selectors: tuple[str, ...] = tuple(SelectorNode.SPACE)
    regressors: tuple[str, ...] = tuple(RegressorNode.SPACE)

    def __post_init__(self):
        object.__setattr__(self, "selectors", tuple(self.selectors))
        object.__setattr__(self, "regressors", tuple(self.regressors))
        if self.mode not in MODES:
            raise InputError(f"unknown search mode {self.mode!r}; choose one of {', '.join(MODES)}.")
        if self.population < 1 or self.generations < 0:
            raise InputError(f"need population >= 1 and generations >= 0, got {self.population} and "
                             f"{self.generations}.")
        if not 1 <= self.min_snps <= self.max_snps:
            raise InputError(f"need 1 <= min_snps <= max_snps, got {self.min_snps} and {self.max_snps}.")
        for name in ("crossover_prob", "mutation_prob", "smart_prob", "node_mutation_prob"):
            if not 0 <= getattr(self, name) <= 1:
                raise InputError(f"{name} must be in [0, 1], got {getattr(self, name)}.")
        for name, known in (("selectors", SelectorNode.SPACE), ("regressors", RegressorNode.SPACE)):
            unknown = [k for k in getattr(self, name) if k not in known]
            if not getattr(self, name) or unknown:
                raise InputError(f"{name} must be a non-empty subset of {', '.join(known)}; got {getattr(self, name)}.")

    def fingerprint(self) -> dict:
        """The settings that shape the search, as a JSON-ready dict (see NOT_FINGERPRINTED)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()
                if k not in NOT_FINGERPRINTED}


# --------------------------------------------------------------------------- objectives


class _Fitness(base.Fitness):
    weights = (1.0, 1.0)  # (r², simplicity), both maximised


class _Point:
    """A row of an objective array as DEAP sees an individual."""

    def __init__(self, row: int, values: np.ndarray):
        self.row = row
        self.fitness = _Fitness(tuple(float(v) for v in values))


def _points(objectives: np.ndarray) -> list[_Point]:
    return [_Point(i, row) for i, row in enumerate(np.asarray(objectives, dtype=float))]


def pareto_ranks(objectives: np.ndarray) -> np.ndarray:
    """Pareto rank (k,) int of each row of ``objectives`` (k, 2), both maximised; 0 = first front."""
    ranks = np.empty(len(objectives), dtype=np.int64)
    for rank, front in enumerate(tools.sortNondominated(_points(objectives), len(objectives))):
        ranks[[p.row for p in front]] = rank
    return ranks


def crowding_distances(objectives: np.ndarray) -> np.ndarray:
    """NSGA-II crowding distance (k,) of each row of ``objectives`` (k, 2) within its Pareto front (inf at ends)."""
    distances = np.empty(len(objectives))
    for front in tools.sortNondominated(_points(objectives), len(objectives)):
        tools.emo.assignCrowdingDist(front)
        distances[[p.row for p in front]] = [p.fitness.crowding_dist for p in front]
    return distances


def select_survivors(objectives: np.ndarray, k: int) -> np.ndarray:
    """Row indices of the ``k`` rows of ``objectives`` (n, 2) that NSGA-II keeps (rank, then crowding)."""
    return np.array([p.row for p in tools.selNSGA2(_points(objectives), k)], dtype=np.int64)


def hypervolume(objectives: np.ndarray, reference: tuple[float, float] = (0.0, 0.0)) -> float:
    """Area dominated by the rows of ``objectives`` (k, 2) (maximised) above ``reference``; 0 when k = 0."""
    if len(objectives) == 0:
        return 0.0
    return float(deap_hypervolume(_points(objectives), ref=-np.asarray(reference, dtype=float)))


def simplicity(n_snps: np.ndarray, max_snps: int) -> np.ndarray:
    """Normalised complexity objective, 1 for one SNP and 0 for ``max_snps`` (see the module text)."""
    return 1 - (np.asarray(n_snps, dtype=float) - 1) / max(max_snps - 1, 1)


# --------------------------------------------------------------------------- evaluation


@dataclass(frozen=True)
class Evaluation:
    """Result of fitting one pipeline: validation ``r2`` (NaN when the fit failed), the IDs of
    the SNPs that reached the regressor (``kept``) and of those LD pruning dropped."""

    r2: float
    kept: tuple[str, ...]
    dropped: tuple[str, ...]

    @property
    def valid(self) -> bool:
        """Whether the pipeline may compete: fitted, r² >= 0 (section III-C)."""
        return bool(np.isfinite(self.r2) and self.r2 >= 0)


@contextmanager
def quiet_fits() -> Iterator[None]:
    """Silence the warnings a search provokes by design: convergence of iterative regressors
    and selectors that keep no feature (that fit then fails and is scored as failed)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=ConvergenceWarning)
        warnings.filterwarnings("ignore", message="No features were selected")
        yield


def evaluate_pipeline(pipeline_json: str, G_train: np.ndarray, y_train: np.ndarray, G_val: np.ndarray,
                      y_val: np.ndarray) -> Evaluation:
    """Fit a pipeline (JSON) on training samples and score it on validation samples.

    G_train, G_val: (n_train, m), (n_val, m) allele counts of every SNP; y: phenotypes.
    A fit that raises ValueError (scikit-learn's answer to zero surviving features, among
    others) gives r² = NaN.
    """
    pipeline = Pipeline.from_json(pipeline_json)
    with quiet_fits():
        try:
            pipeline.fit(G_train, y_train)
            r2 = float(r2_score(y_val, pipeline.predict(G_val)))
        except ValueError:
            return Evaluation(float("nan"), (), ())
    steps = pipeline.model_.regressor_
    return Evaluation(r2, tuple(str(i) for i in steps[:-1].get_feature_names_out()),
                      tuple(steps.named_steps["ld"].dropped_))


def pipeline_id(pipeline_json: str) -> str:
    """Short stable ID of a pipeline: the first 12 hex digits of the SHA-256 of its JSON."""
    return hashlib.sha256(pipeline_json.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Member:
    """An evaluated pipeline; ``json`` is its cache key."""

    pipeline: Pipeline
    json: str
    evaluation: Evaluation

    @property
    def id(self) -> str:
        return pipeline_id(self.json)

    @property
    def kept_snps(self) -> list[SnpNode]:
        """SNP nodes of the SNPs that reached the regressor, in pipeline order."""
        kept = set(self.evaluation.kept)
        return [s for s in self.pipeline.snps if s.id in kept]


def _objectives(members: list[Member], max_snps: int) -> np.ndarray:
    """(k, 2) array of (r², simplicity) of evaluated members."""
    if not members:
        return np.empty((0, 2))
    r2 = np.array([m.evaluation.r2 for m in members])
    return np.column_stack([r2, simplicity([len(m.evaluation.kept) for m in members], max_snps)])


# --------------------------------------------------------------------------- result and checkpoint


HISTORY_COLUMNS = ["generation", "pipeline_id", "n_input_snps", "n_snps", "r2", "fate"]


@dataclass(frozen=True)
class SearchResult:
    """Outcome of :func:`run_search`.

    population: the final population; pareto: its first Pareto front, by decreasing r².
    hypervolume: (generations + 1,) hypervolume of each generation's population (index 0 =
    initial). history: one row per offspring evaluated (HISTORY_COLUMNS; ``fate`` is
    failed, negative, duplicate, not_selected or survived; ``n_input_snps`` is the pipeline's
    SNP count, ``n_snps`` the count reaching the regressor). n_evaluations: offspring
    evaluated (the budget, cache hits included); n_fits: pipelines actually fitted.
    """

    settings: SearchSettings
    population: list[Member]
    pareto: list[Member]
    hypervolume: np.ndarray
    history: pd.DataFrame
    n_evaluations: int
    n_fits: int


def data_fingerprint(snpdb: pd.DataFrame, y: np.ndarray, is_train: np.ndarray) -> str:
    """SHA-256 (hex) of the SNP IDs, best encodings, phenotypes and training mask."""
    digest = hashlib.sha256()
    for part in (snpdb.ID.astype(str), snpdb.best_encoding.astype(str)):
        digest.update("\t".join(part).encode())
    digest.update(np.ascontiguousarray(y, dtype=float).tobytes())
    digest.update(np.ascontiguousarray(is_train, dtype=bool).tobytes())
    return digest.hexdigest()


def _fingerprint_differences(stored: dict, current: dict) -> str:
    """The keys on which two fingerprints differ, with both values ('' when they agree)."""
    differing = sorted(k for k in stored.keys() | current.keys() if stored.get(k) != current.get(k))
    return "; ".join(f"{k}: checkpoint {stored.get(k)!r}, now {current.get(k)!r}" for k in differing)


# --------------------------------------------------------------------------- the search


class _Search:
    """State of one run: random stream, population, cache, SNP candidates (see the module text)."""

    def __init__(self, G: np.ndarray, y: np.ndarray, is_train: np.ndarray, snpdb: pd.DataFrame,
                 settings: SearchSettings):
        self.settings = settings
        self.rng = np.random.default_rng(settings.seed)
        G = np.asarray(G, dtype=float)
        self.arrays = (G[is_train], y[is_train], G[~is_train], y[~is_train])
        self.ids = snpdb.ID.astype(str).to_numpy()
        self.column_of = {snp: j for j, snp in enumerate(self.ids)}
        self.chroms = snpdb.CHROM.astype(str).to_numpy()
        self.chrom_codes = pd.factorize(snpdb.CHROM.astype(str))[0]
        self.positions = snpdb.POS.to_numpy(dtype=np.int64)
        self.bins = snpdb.bin.to_numpy()
        self.best_encoding = snpdb.best_encoding.astype(str).to_numpy()
        self.r2_by_encoding = {e: snpdb[f"r2_{e}"].to_numpy(dtype=float) for e in ENCODINGS}
        self.weights = np.clip(snpdb.best_r2.to_numpy(dtype=float), 0, None)
        if settings.mode == "starbase":
            self.candidates = snpdb.considered.to_numpy(dtype=bool).copy()
        else:
            self.candidates = np.ones(len(snpdb), dtype=bool)
        self.cache: dict[str, Evaluation] = {}
        self.population: list[Member] = []
        self.hypervolume: list[float] = []
        self.history: list[tuple] = []
        self.generation = -1  # last completed generation
        self.n_evaluations = 0
        self.n_fits = 0

    # ---- SNPs

    def snp_node(self, index: int, encoding: str | None = None) -> SnpNode:
        """The SNP in column ``index``; encoding: the mode's default (best, or additive in basic) if None."""
        if encoding is None:
            encoding = "additive" if self.settings.mode == "basic" else str(self.best_encoding[index])
        return SnpNode(str(self.ids[index]), int(index), str(self.chroms[index]), int(self.positions[index]),
                       encoding, float(self.r2_by_encoding[encoding][index]))

    def draw(self, mask: np.ndarray, k: int, weighted: bool) -> np.ndarray:
        """Up to ``k`` distinct column indices where ``mask``, weighted by marginal r² or uniform."""
        pool = np.flatnonzero(mask)
        k = min(k, len(pool))
        p = None
        if weighted and (self.weights[pool] > 0).sum() >= k:
            p = self.weights[pool] / self.weights[pool].sum()
        return self.rng.choice(pool, size=k, replace=False, p=p) if k else pool[:0]

    def smart(self) -> bool:
        return self.settings.mode == "starbase" and self.rng.random() < self.settings.smart_prob

    def recommend(self, anchor: int, taken: set[int], weighted: bool) -> int | None:
        """A new SNP near column ``anchor``: same bin, same chromosome, or anywhere (see the module text)."""
        free = self.candidates.copy()
        free[list(taken)] = False
        locality = self.rng.integers(3)
        if locality == 0:
            near = self.bins == self.bins[anchor]
        elif locality == 1:
            near = (self.chrom_codes == self.chrom_codes[anchor]) & (self.bins != self.bins[anchor])
        else:
            near = np.ones_like(free)
        anywhere = np.ones_like(free)
        anywhere[list(taken)] = False
        for mask in (free & near, free, anywhere):
            drawn = self.draw(mask, 1, weighted)
            if len(drawn):
                return int(drawn[0])
        return None

    # ---- pipelines

    def pipeline(self, snps: list[SnpNode], ld: LDPruneNode, selector: SelectorNode,
                 regressor: RegressorNode) -> Pipeline:
        return Pipeline(tuple(sorted(snps, key=lambda s: s.index)), ld, selector, regressor, self.settings.seed)

    def random_pipeline(self) -> Pipeline:
        s, rng = self.settings, self.rng
        k = int(rng.integers(s.min_snps, s.max_snps + 1))
        chosen = self.draw(self.candidates, k, weighted=s.mode == "starbase")
        if len(chosen) < s.min_snps:  # too few candidates: top up from all SNPs
            rest = np.ones(len(self.ids), dtype=bool)
            rest[chosen] = False
            chosen = np.r_[chosen, self.draw(rest, s.min_snps - len(chosen), weighted=False)]
        return self.pipeline([self.snp_node(int(i)) for i in chosen], LDPruneNode.random(rng),
                             SelectorNode.random(rng, str(rng.choice(s.selectors))),
                             RegressorNode.random(rng, str(rng.choice(s.regressors))))

    def mutate(self, snps: list[SnpNode], nodes: dict) -> None:
        """Mutate in place: maybe one node hyperparameter (basic mode: or one SNP's encoding), then
        move, add or remove one SNP within the size limits."""
        s, rng = self.settings, self.rng
        if rng.random() < s.node_mutation_prob:
            targets = ["ld", "selector", "regressor"] + (["encoding"] if s.mode == "basic" else [])
            target = targets[rng.integers(len(targets))]
            if target == "encoding":
                j = int(rng.integers(len(snps)))
                others = [e for e in ENCODINGS if e != snps[j].encoding]
                snps[j] = self.snp_node(snps[j].index, others[rng.integers(len(others))])
            else:
                nodes[target] = nodes[target].mutate(rng)
        operations = (["move"] + (["add"] if len(snps) < s.max_snps else [])
                      + (["remove"] if len(snps) > s.min_snps else []))
        operation = operations[rng.integers(len(operations))]
        j = int(rng.integers(len(snps)))
        if operation == "remove":
            del snps[j]
            return
        new = self.recommend(snps[j].index, {x.index for x in snps}, self.smart())
        if new is None:
            return
        if operation == "move":
            snps[j] = self.snp_node(new)
        else:
            snps.append(self.snp_node(new))

    def crossover(self, a: Member, b: Member) -> tuple[list[SnpNode], dict]:
        """Nodes from either parent; a random subset (size in [min_snps, max_snps]) of both parents' kept SNPs."""
        s, rng = self.settings, self.rng
        nodes = {name: getattr((a, b)[rng.integers(2)].pipeline, name) for name in ("ld", "selector", "regressor")}
        pool = list({x.id: x for x in b.kept_snps + a.kept_snps}.values())
        k = int(rng.integers(s.min_snps, s.max_snps + 1))
        if len(pool) <= k:
            return pool, nodes
        weights = np.clip([x.marginal_r2 for x in pool], 0, None)
        p = weights / weights.sum() if self.smart() and (weights > 0).sum() >= k else None
        return [pool[i] for i in rng.choice(len(pool), size=k, replace=False, p=p)], nodes

    def enforce_size(self, snps: list[SnpNode]) -> None:
        """Top up to min_snps with recommended SNPs; cut at random to max_snps."""
        s, rng = self.settings, self.rng
        while len(snps) < s.min_snps:
            new = self.recommend(snps[rng.integers(len(snps))].index, {x.index for x in snps}, self.smart())
            if new is None:
                raise InputError(f"cannot reach min_snps={s.min_snps}: the data have {len(self.ids)} SNPs.")
            snps.append(self.snp_node(new))
        if len(snps) > s.max_snps:
            keep = np.sort(rng.choice(len(snps), size=s.max_snps, replace=False))
            snps[:] = [snps[i] for i in keep]

    def tournament(self, ranks: np.ndarray, crowding: np.ndarray) -> Member:
        i, j = self.rng.integers(len(self.population), size=2)
        better = i if (ranks[i], -crowding[i]) <= (ranks[j], -crowding[j]) else j
        return self.population[better]

    def offspring(self) -> list[Pipeline]:
        s, rng = self.settings, self.rng
        if s.mode == "random" or not self.population:
            return [self.random_pipeline() for _ in range(2 * s.population)]
        objectives = _objectives(self.population, s.max_snps)
        ranks, crowding = pareto_ranks(objectives), crowding_distances(objectives)
        children = []
        for _ in range(2 * s.population):
            if rng.random() < s.crossover_prob:
                snps, nodes = self.crossover(self.tournament(ranks, crowding), self.tournament(ranks, crowding))
                mutate = rng.random() < s.mutation_prob
            else:
                parent = self.tournament(ranks, crowding)
                snps = parent.kept_snps
                nodes = {name: getattr(parent.pipeline, name) for name in ("ld", "selector", "regressor")}
                mutate = True
            if mutate:
                self.mutate(snps, nodes)
            self.enforce_size(snps)
            children.append(self.pipeline(snps, **nodes))
        return children

    # ---- evaluation and survival

    def evaluate(self, pipelines: list[Pipeline]) -> list[Member]:
        texts = [p.to_json() for p in pipelines]
        todo = list(dict.fromkeys(t for t in texts if t not in self.cache))
        results = joblib.Parallel(n_jobs=self.settings.n_jobs)(
            joblib.delayed(evaluate_pipeline)(t, *self.arrays) for t in todo)
        self.cache.update(zip(todo, results, strict=True))
        self.n_fits += len(todo)
        self.n_evaluations += len(texts)
        return [Member(p, t, self.cache[t]) for p, t in zip(pipelines, texts, strict=True)]

    def advance(self, pipelines: list[Pipeline]) -> None:
        """Evaluate ``pipelines``, update the SNP candidates, select the next population, record history."""
        s, rng = self.settings, self.rng
        generation = self.generation + 1
        members = self.evaluate(pipelines)
        if s.mode == "starbase":
            dropped = {snp for m in members for snp in m.evaluation.dropped}
            self.candidates[[self.column_of[snp] for snp in dropped]] = False
        contenders = [m for m in members if m.evaluation.valid]
        if s.mode == "random" and generation > 0:
            contenders = self.population + contenders
        groups: dict[frozenset, list[Member]] = {}
        for m in contenders:
            groups.setdefault(frozenset(m.evaluation.kept), []).append(m)
        pool = [rows[rng.integers(len(rows))] for rows in groups.values()]
        representatives = {id(m) for m in pool}
        if len(pool) > s.population:
            pool = [pool[i] for i in select_survivors(_objectives(pool, s.max_snps), s.population)]
        if pool:
            self.population = pool
        survived = {id(m) for m in self.population}
        for m in members:
            r2 = m.evaluation.r2
            if not np.isfinite(r2):
                fate = "failed"
            elif r2 < 0:
                fate = "negative"
            elif id(m) in survived:
                fate = "survived"
            else:
                fate = "not_selected" if id(m) in representatives else "duplicate"
            self.history.append((generation, m.id, len(m.pipeline.snps), len(m.evaluation.kept),
                                 r2 if np.isfinite(r2) else None, fate))
        self.hypervolume.append(hypervolume(_objectives(self.population, s.max_snps)))
        self.generation = generation

    # ---- checkpoint

    def state(self, fingerprint: dict) -> dict:
        return {
            "version": CHECKPOINT_VERSION, "fingerprint": fingerprint, "generation": self.generation,
            "rng": self.rng.bit_generator.state,
            "population": [{"pipeline": m.json, **asdict(m.evaluation)} for m in self.population],
            "excluded": self.ids[~self.candidates].tolist(),
            "hypervolume": self.hypervolume, "history": [list(row) for row in self.history],
            "n_evaluations": self.n_evaluations, "n_fits": self.n_fits,
        }

    def restore(self, state: dict) -> None:
        self.generation = state["generation"]
        self.rng.bit_generator.state = state["rng"]
        self.population = []
        for row in state["population"]:
            evaluation = Evaluation(float(row["r2"]), tuple(row["kept"]), tuple(row["dropped"]))
            self.cache[row["pipeline"]] = evaluation
            self.population.append(Member(Pipeline.from_json(row["pipeline"]), row["pipeline"], evaluation))
        self.candidates[[self.column_of[snp] for snp in state["excluded"]]] = False
        self.hypervolume = list(state["hypervolume"])
        self.history = [tuple(row) for row in state["history"]]
        self.n_evaluations, self.n_fits = state["n_evaluations"], state["n_fits"]


def _write_checkpoint(state: dict, path: Path) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(state))


def run_search(G: np.ndarray, y: np.ndarray, is_train: np.ndarray, snpdb: pd.DataFrame,
               settings: SearchSettings = SearchSettings(), *, checkpoint: str | Path | None = None,
               restart_stale: bool = False, progress: bool = True) -> SearchResult:
    """Run (or resume) an NSGA-II pipeline search.

    G: (n, m) allele counts (0/1/2, NaN = missing), columns in SNP-database row order;
    y: (n,) phenotypes; is_train: (n,) bool, the split the SNP database was built on;
    snpdb: the SNP database table (:func:`phenomap.gpsearch.snpdb.build_snpdb`).
    checkpoint: JSON path written after every generation; resumed from when it exists (a
    checkpoint already past ``generations`` is returned as it is). A checkpoint written with
    other settings or data raises InputError naming the differing keys, or, with
    ``restart_stale``, is logged and replaced by a fresh run (a workflow whose config changed).
    """
    y, is_train = check_phenotype_split(y, is_train)
    G = np.asarray(G)
    if G.ndim != 2 or G.shape != (len(y), len(snpdb)):
        raise InputError(f"genotypes of shape {G.shape} do not match {len(y)} phenotypes x {len(snpdb)} SNPs "
                         "of the SNP database.")
    if len(snpdb) < settings.min_snps:
        raise InputError(f"the SNP database has {len(snpdb)} SNPs, fewer than min_snps={settings.min_snps}.")
    if settings.mode == "starbase" and not snpdb.considered.any():
        raise InputError("no SNP of the SNP database is considered (best r² > 0); starbase mode has nothing to "
                         "recommend. Use mode 'basic', or loosen the consideration criteria.")
    search = _Search(G, y, is_train, snpdb, settings)
    fingerprint = {**settings.fingerprint(), "data": data_fingerprint(snpdb, y, is_train)}
    path = Path(checkpoint) if checkpoint is not None else None
    if path is not None and path.exists():
        state = json.loads(path.read_text())
        differences = _fingerprint_differences(state.get("fingerprint", {}), fingerprint)
        if not differences:
            search.restore(state)
            log.info("resumed from checkpoint %s after generation %d", path, search.generation)
        elif restart_stale:
            log.warning("checkpoint %s was written with other settings (%s): starting afresh", path, differences)
        else:
            raise InputError(f"checkpoint {path} was written with other settings ({differences}); use the same "
                             "settings to resume, or another checkpoint path to start afresh.")
    with tqdm(total=settings.generations + 1, initial=min(search.generation + 1, settings.generations + 1),
              desc=f"search ({settings.mode})", disable=not progress, mininterval=5) as bar:
        while search.generation < settings.generations:
            search.advance(search.offspring() if search.generation >= 0 else
                           [search.random_pipeline() for _ in range(settings.population)])
            if path is not None:
                _write_checkpoint(search.state(fingerprint), path)
            bar.update()
    objectives = _objectives(search.population, settings.max_snps)
    front = [search.population[i] for i in np.flatnonzero(pareto_ranks(objectives) == 0)]
    front.sort(key=lambda m: (-m.evaluation.r2, len(m.evaluation.kept), m.json))
    return SearchResult(settings, search.population, front, np.array(search.hypervolume),
                        pd.DataFrame(search.history, columns=HISTORY_COLUMNS).astype({"r2": float}),
                        search.n_evaluations, search.n_fits)
