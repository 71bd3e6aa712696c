"""Covariance estimators for least-squares coefficients, named by small-sample convention.

A registry of small classes, one per convention, each documenting its formula
(model: linearmodels ``iv/covariance.py``).  Every estimator takes a
:class:`RegressionDesign` (regressors after any absorbed fixed effects have been
partialled out, residuals, cluster codes and a description of the absorbed fixed
effects) and returns a :class:`CovarianceEstimate`: the covariance matrix, the
reference degrees of freedom of each coefficient and a note.

Notation: ``X`` is the n x p design after absorbing fixed effects, ``M = (X'X)^-1``,
``e`` the residuals, ``g = 1..G`` clusters, ``K`` the number of estimated
parameters (what it counts differs by convention, see each class).

Example
-------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> x = np.column_stack([np.ones(100), rng.normal(size=100)])
>>> e = rng.normal(size=100)
>>> cov = covariance(RegressionDesign(x=x, resid=e), "HC1")
>>> float(cov.df[1])
98.0
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import ClassVar, Literal

import numpy as np

from evaluate.errors import DesignError, SpecError
from evaluate.inference._nesting import is_nested
from evaluate.text import Text

CovarianceType = Literal["classical", "HC1", "HC2", "CR0", "CR1", "CR1-stata", "CR2"]
"""Names of the covariance conventions in :data:`COVARIANCE_ESTIMATORS`."""

FEW_CLUSTERS = 30
"""Below this many clusters the default clustered covariance is CR2, not CR1."""

_EIG_TOL = 1e-12  # clubSandwich's tolerance for a zero eigenvalue in (I - H_gg)^(-1/2)


@dataclass(frozen=True, eq=False)
class RegressionDesign:
    """What a covariance estimator needs from a fitted least-squares regression.

    Parameters
    ----------
    x : (n, p) regressors after partialling out the absorbed fixed effects (FWL).
    resid : (n,) residuals of the full model.
    clusters : (n,) integer cluster codes ``0..G-1`` or ``None`` (no clustering).
    fe_levels : number of levels of each absorbed fixed-effect dimension.
    fe_nested : for each absorbed dimension, whether it is nested within the clusters.
    absorbed_groups : (n,) codes of a single absorbed one-way fixed effect; HC2 needs
        it for the leverage ``1/n_group`` the absorbed dummies add.
    weights : (n,) analytic (regression) weights ``w``, or ``None``.  Weighted least
        squares is least squares on rows scaled by ``sqrt(w)``, so ``x`` and ``resid``
        must already be so scaled (and the fixed effects absorbed by *weighted*
        demeaning); every estimator below is then the weighted one of estimatr and
        clubSandwich (working model ``Phi = W^-1``).  Only HC2 reads ``weights``: an
        absorbed dummy's leverage becomes ``w_i / sum_{j in group} w_j``.  ``n`` stays
        the number of rows in every small-sample factor (estimatr, Stata ``aweight``).
    """

    x: np.ndarray
    resid: np.ndarray
    clusters: np.ndarray | None = None
    fe_levels: tuple[int, ...] = ()
    fe_nested: tuple[bool, ...] = ()
    absorbed_groups: np.ndarray | None = None
    weights: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.fe_levels and not self.fe_nested:
            object.__setattr__(self, "fe_nested", (False,) * len(self.fe_levels))
        if len(self.fe_nested) != len(self.fe_levels):
            raise SpecError("fe_nested needs one entry per absorbed fixed-effect dimension.")
        if self.x.ndim != 2 or self.resid.shape != (self.x.shape[0],):
            raise SpecError("x must be (n, p) and resid (n,) with the same n.")

    @property
    def n(self) -> int:
        return int(self.x.shape[0])

    @property
    def p(self) -> int:
        return int(self.x.shape[1])

    @cached_property
    def n_clusters(self) -> int:  # read by every small-sample factor: one pass, kept
        return 0 if self.clusters is None else int(self.clusters.max()) + 1

    @property
    def k_full(self) -> int:
        """Parameters counting every absorbed dummy (Stata ``areg``, estimatr "stata")."""
        if not self.fe_levels:
            return self.p
        return self.p + sum(self.fe_levels) - (len(self.fe_levels) - 1)

    @property
    def k_fixest(self) -> int:
        """Parameters as fixest counts them by default (``fixef.K = "nested"``).

        Fixed effects nested in the clusters are not counted; the others count
        their levels minus one per redundant dimension, and a nested dimension
        gives back the level it took from the others, so for ``y ~ D | unit + year``
        clustered by unit K = 1 + #years (this matches fixest and pyfixest).
        """
        if not self.fe_levels:
            return self.p
        nonnested = [
            lv for lv, nest in zip(self.fe_levels, self.fe_nested, strict=True) if not nest
        ]
        n_nested = len(self.fe_levels) - len(nonnested)
        return self.p + sum(nonnested) - (len(self.fe_levels) - 1) + n_nested


@dataclass(frozen=True, eq=False)
class CovarianceEstimate:
    """A coefficient covariance with its reference degrees of freedom.

    ``df`` holds one value per coefficient (CR2's Satterthwaite df differs by
    coefficient; the others repeat one value); ``df = inf`` means a normal reference.
    """

    cov: np.ndarray
    df: np.ndarray
    method: str
    n_clusters: int | None = None
    note: str = ""

    @property
    def std_errors(self) -> np.ndarray:
        return np.sqrt(np.clip(np.diag(self.cov), 0.0, None))


def _bread(x: np.ndarray) -> np.ndarray:
    xtx = x.T @ x
    try:
        return np.linalg.inv(xtx)
    except np.linalg.LinAlgError:
        return np.linalg.pinv(xtx)


def _cluster_scores(x: np.ndarray, resid: np.ndarray, clusters: np.ndarray) -> np.ndarray:
    """(G, p) sums of ``x_i e_i`` within each cluster, without a Python loop."""
    n_g = int(clusters.max()) + 1
    xe = x * resid[:, None]
    return np.stack(
        [np.bincount(clusters, weights=xe[:, j], minlength=n_g) for j in range(x.shape[1])], axis=1
    )


def _residual_df(design: RegressionDesign, k: int, name: str) -> int:
    """``n - K``; none left means no variance can be estimated (a typed error)."""
    if design.n - k <= 0:
        raise DesignError(
            f"{name} needs residual degrees of freedom, but the {design.n} observations "
            f"are used up by {k} parameters (e.g. one treated and one control unit in "
            "two periods): no standard error can be estimated. Add units or periods."
        )
    return design.n - k


def _require_clusters(design: RegressionDesign, name: str) -> np.ndarray:
    if design.clusters is None:
        raise SpecError(f"{name} is a cluster-robust covariance; pass cluster= (a column name).")
    if design.n_clusters < 2:
        raise SpecError(f"{name} needs at least 2 clusters, found {design.n_clusters}.")
    return design.clusters


class CovarianceEstimator:
    """Base class of the registry: a name and a ``compute(design)`` method."""

    name: ClassVar[str] = ""
    clustered: ClassVar[bool] = False

    def compute(self, design: RegressionDesign) -> CovarianceEstimate:
        raise NotImplementedError


class Classical(CovarianceEstimator):
    """Classical (iid, homoskedastic) OLS covariance.

    ``V = s^2 M`` with ``s^2 = sum_i e_i^2 / (n - K)``, K counting every absorbed
    fixed effect; reference ``t(n-K)``.  Equals R ``lm``/``vcov``, estimatr
    ``se_type="classical"``, Stata's default and fixest ``"iid"``.  With weights
    (rows scaled by ``sqrt(w)``) ``s^2 = sum_i w_i e_i^2 / (n - K)``, as ``lm(weights=)``.
    """

    name = "classical"

    def compute(self, design: RegressionDesign) -> CovarianceEstimate:
        x, e = design.x, design.resid
        dof = _residual_df(design, design.k_full, self.name)
        s2 = float(e @ e) / dof
        return CovarianceEstimate(s2 * _bread(x), np.full(design.p, float(dof)), self.name)


class HC1(CovarianceEstimator):
    """Heteroskedasticity-robust, MacKinnon-White HC1.

    ``V = n/(n-K) * M (sum_i e_i^2 x_i x_i') M`` with ``K`` counting every absorbed
    fixed effect; reference ``t(n-K)``.  Equals estimatr ``se_type="HC1"``, Stata
    ``robust`` and fixest ``"hetero"``.
    """

    name = "HC1"

    def compute(self, design: RegressionDesign) -> CovarianceEstimate:
        x, e = design.x, design.resid
        m = _bread(x)
        meat = (x * (e**2)[:, None]).T @ x
        dof = _residual_df(design, design.k_full, self.name)
        cov = design.n / dof * m @ meat @ m
        return CovarianceEstimate(cov, np.full(design.p, float(dof)), self.name)


class HC2(CovarianceEstimator):
    """Heteroskedasticity-robust HC2 (leverage-adjusted).

    ``V = M (sum_i e_i^2 / (1 - h_ii) x_i x_i') M`` with ``h_ii`` the leverage in the
    full model: ``x_i' M x_i`` plus ``1/n_g`` for an absorbed one-way fixed effect
    (``absorbed_groups``).  Reference ``t(n-K)``, K counting all absorbed dummies,
    as estimatr ``se_type="HC2"``.  An observation with leverage 1 gets weight 0.
    """

    name = "HC2"

    def compute(self, design: RegressionDesign) -> CovarianceEstimate:
        x, e = design.x, design.resid
        m = _bread(x)
        h = np.einsum("ij,jk,ik->i", x, m, x)
        if design.absorbed_groups is not None:
            groups = design.absorbed_groups
            if design.weights is None:
                h = h + 1.0 / np.bincount(groups)[groups]
            else:
                h = h + design.weights / np.bincount(groups, weights=design.weights)[groups]
        elif len(design.fe_levels) > 0:
            raise SpecError(
                "HC2 needs the leverage of the absorbed fixed effects: keep all but one "
                "fixed-effect dimension as explicit columns of x and pass absorbed_groups."
            )
        one_minus = 1.0 - h
        w = np.where(one_minus > 1e-12, (e**2) / np.where(one_minus > 1e-12, one_minus, 1.0), 0.0)
        meat = (x * w[:, None]).T @ x
        dof = _residual_df(design, design.k_full, self.name)
        return CovarianceEstimate(m @ meat @ m, np.full(design.p, float(dof)), self.name)


class CR0(CovarianceEstimator):
    """Cluster-robust without small-sample correction (Liang-Zeger).

    ``V = M (sum_g X_g' e_g e_g' X_g) M``; reference ``t(G-1)``.  Equals plm
    ``vcovHC(method="arellano", type="HC0")`` and sandwich ``vcovCL(type="HC0", cadjust=FALSE)``.
    """

    name = "CR0"
    clustered = True
    _scale_name = "none"

    def _scale(self, design: RegressionDesign) -> float:
        return 1.0

    def compute(self, design: RegressionDesign) -> CovarianceEstimate:
        clusters = _require_clusters(design, self.name)
        m = _bread(design.x)
        scores = _cluster_scores(design.x, design.resid, clusters)
        cov = self._scale(design) * m @ (scores.T @ scores) @ m
        g = design.n_clusters
        return CovarianceEstimate(cov, np.full(design.p, float(g - 1)), self.name, g)


class CR1(CR0):
    """Cluster-robust with fixest's default small-sample correction.

    ``V = G/(G-1) * (n-1)/(n-K) * V_CR0`` where K excludes fixed effects nested in
    the clusters (fixest ``ssc(adj=TRUE, fixef.K="nested", cluster.adj=TRUE)``, see
    :attr:`RegressionDesign.k_fixest`); reference ``t(G-1)``.  Without absorbed fixed
    effects it equals Stata's ``vce(cluster)``.
    """

    name = "CR1"

    def _scale(self, design: RegressionDesign) -> float:
        g, n = design.n_clusters, design.n
        return g / (g - 1) * (n - 1) / _residual_df(design, design.k_fixest, self.name)


class CR1Stata(CR0):
    """Cluster-robust as Stata ``areg ..., vce(cluster)`` and estimatr ``se_type="stata"``.

    ``V = G/(G-1) * (n-1)/(n-K) * V_CR0`` with K counting *every* absorbed dummy
    (:attr:`RegressionDesign.k_full`), nested in the clusters or not; reference ``t(G-1)``.
    With many absorbed unit effects this is noticeably larger than CR1.
    """

    name = "CR1-stata"

    def _scale(self, design: RegressionDesign) -> float:
        g, n = design.n_clusters, design.n
        return g / (g - 1) * (n - 1) / _residual_df(design, design.k_full, self.name)


class CR2(CovarianceEstimator):
    """Bell-McCaffrey CR2 with Satterthwaite degrees of freedom.

    ``V = M (sum_g X_g' A_g e_g e_g' A_g X_g) M`` with ``A_g = (I - H_gg)^(-1/2)``
    (symmetric square root, pseudo-inverse for zero eigenvalues as clubSandwich),
    ``H_gg = X_g M X_g'``.  Absorbed fixed effects must be nested in the clusters:
    then they can be ignored in ``A_g`` (Pustejovsky & Tipton 2018, JBES, Thm 2)
    and time effects that are not nested must be explicit columns of ``x``.

    Degrees of freedom for coefficient j (Bell & McCaffrey 2002, working model
    ``Phi = I``): with ``w_g = A_g X_g M c`` and ``u_g = (I - H) C_g' w_g``,
    ``df = (sum_g |u_g|^2)^2 / sum_{g,h} (u_g'u_h)^2``.  Because ``u_g'u_h =
    1{g=h} w_g'w_g - a_g' M a_h`` with ``a_g = X_g'w_g``, this costs O(G p^2).
    Equals estimatr ``se_type="CR2"`` and clubSandwich ``CR2`` + ``"Satterthwaite"``.
    """

    name = "CR2"
    clustered = True

    def __init__(self, n_interest: int | None = None, chunk: int = 4096) -> None:
        self.n_interest = n_interest  # df only for the first n_interest coefficients
        self.chunk = chunk

    def compute(self, design: RegressionDesign) -> CovarianceEstimate:
        clusters = _require_clusters(design, self.name)
        if design.weights is not None:
            return _cr2_weighted(design, clusters, self.n_interest)
        if design.fe_levels and not all(design.fe_nested):
            raise SpecError(
                "CR2 with absorbed fixed effects needs them nested within the clusters; "
                "make the other fixed effects explicit columns of x."
            )
        x, e = design.x, design.resid
        p = design.p
        k = p if self.n_interest is None else min(self.n_interest, p)
        m = _bread(x)
        g_count = design.n_clusters
        scores = np.zeros((g_count, p))
        d = np.zeros((g_count, k))  # w_g'w_g per coefficient of interest
        a = np.zeros((g_count, k, p))  # a_g = X_g' w_g per coefficient
        order = np.argsort(clusters, kind="stable")
        sizes = np.bincount(clusters, minlength=g_count)
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        for size in np.unique(sizes):
            ids = np.flatnonzero(sizes == size)
            for lo in range(0, len(ids), self.chunk):
                block = ids[lo : lo + self.chunk]
                rows = order[starts[block][:, None] + np.arange(size)[None, :]]
                xg, eg = x[rows], e[rows]  # (b, s, p), (b, s)
                axg, aeg = self._adjust(xg, eg, m)
                scores[block] = np.einsum("bsp,bs->bp", xg, aeg)
                w = axg @ m[:, :k]  # (b, s, k): w_g for c = e_j
                d[block] = np.einsum("bsk,bsk->bk", w, w)
                a[block] = np.einsum("bsp,bsk->bkp", xg, w)
        cov = m @ (scores.T @ scores) @ m
        df = np.full(p, math.nan)
        for j in range(k):
            aj = a[:, j, :]  # (G, p)
            q = np.einsum("gp,pq,gq->g", aj, m, aj)
            s = aj.T @ aj  # p x p
            ms = m @ s
            trace = d[:, j].sum() - np.trace(ms)
            frob = (d[:, j] ** 2).sum() - 2 * (d[:, j] * q).sum() + np.sum(ms * ms.T)
            df[j] = trace**2 / frob if frob > 0 else math.nan
        return CovarianceEstimate(cov, df, self.name, g_count)

    @staticmethod
    def _adjust(xg: np.ndarray, eg: np.ndarray, m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``A_g X_g`` and ``A_g e_g`` for a batch of equal-size clusters.

        ``I - X_g M X_g'`` is the identity outside the span of ``X_g``: with the thin
        SVD ``X_g = U S V'`` and ``K = S V'MV S`` it equals ``I - U K U'``, so
        ``A_g v = v + U (f(I - K) - I) U'v`` with ``f`` the pseudo-inverse square
        root.  This costs O(s p^2) per cluster instead of O(s^3).
        """
        u, sv, vt = np.linalg.svd(xg, full_matrices=False)  # u (b,s,r), sv (b,r), vt (b,r,p)
        vs = vt * sv[:, :, None]  # rows of S V'
        kmat = vs @ m @ np.swapaxes(vs, 1, 2)  # (b, r, r)
        r = kmat.shape[1]
        vals, vecs = np.linalg.eigh(np.eye(r)[None] - kmat)
        f = np.where(vals > _EIG_TOL, 1.0 / np.sqrt(np.where(vals > _EIG_TOL, vals, 1.0)), 0.0)
        core = (vecs * f[:, None, :]) @ np.swapaxes(vecs, 1, 2) - np.eye(r)[None]
        ut = np.swapaxes(u, 1, 2)
        axg = xg + u @ (core @ (ut @ xg))
        aeg = eg + (u @ (core @ (ut @ eg[:, :, None])))[:, :, 0]
        return axg, aeg


def _cr2_weighted(
    design: RegressionDesign, clusters: np.ndarray, n_interest: int | None
) -> CovarianceEstimate:
    """CR2 for weighted least squares as clubSandwich computes it for ``lm(weights=)``.

    clubSandwich takes regression weights as *not* inverse variances: its working
    model is ``Phi = I`` in the original scale, so with ``H = X M X'W`` (``M =
    (X'WX)^-1``) the adjustment is ``A_g = B_g^(+1/2)``, ``B_g = [(I - H)(I - H)']_gg
    = I - H_gg - H_gg' + X_g M X'W^2X M X_g'``, the meat ``sum_g X_g'W_g A_g e_g
    (.)'``, and the Satterthwaite df ``tr(Omega)^2 / tr(Omega^2)`` with ``Omega_gh =
    u_g'u_h``, ``u_g = (I - H)' G_g``, ``G_g = W_g A_g X_g M c``.  Every fixed effect
    must be an explicit column of ``x`` (no shortcut through absorption holds here).
    """
    if design.fe_levels:
        raise SpecError(
            "Weighted CR2 needs every fixed effect as an explicit column of x "
            "(clubSandwich's dummies); absorbed fixed effects are not supported."
        )
    w = design.weights
    root = np.sqrt(w)
    x, e = design.x / root[:, None], design.resid / root
    p = design.p
    k = p if n_interest is None else min(n_interest, p)
    m = _bread(design.x)
    s2m = m @ ((x * (w**2)[:, None]).T @ x) @ m
    g_count = design.n_clusters
    scores = np.zeros((g_count, p))
    a = np.zeros((g_count, p, k))  # X_g' G_g
    b = np.zeros((g_count, p, k))  # X_g' W_g G_g
    d = np.zeros((g_count, k))  # G_g' G_g (diagonal)
    order = np.argsort(clusters, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(clusters, minlength=g_count))])
    for g in range(g_count):
        rows = order[bounds[g] : bounds[g + 1]]
        xg, wg, eg = x[rows], w[rows], e[rows]
        hgg = (xg @ m @ xg.T) * wg[None, :]
        bmat = np.eye(len(rows)) - hgg - hgg.T + xg @ s2m @ xg.T
        vals, vecs = np.linalg.eigh((bmat + bmat.T) / 2)
        f = np.where(vals > _EIG_TOL, 1.0 / np.sqrt(np.where(vals > _EIG_TOL, vals, 1.0)), 0.0)
        adj = (vecs * f) @ vecs.T
        scores[g] = xg.T @ (wg * (adj @ eg))
        gmat = wg[:, None] * (adj @ (xg @ m[:, :k]))
        a[g], b[g], d[g] = xg.T @ gmat, xg.T @ (wg[:, None] * gmat), (gmat**2).sum(axis=0)
    cov = m @ (scores.T @ scores) @ m
    df = np.full(p, math.nan)
    for j in range(k):
        aj, bj = a[:, :, j], b[:, :, j]  # (G, p)
        cross = bj @ m @ aj.T
        omega = np.diag(d[:, j]) - cross - cross.T + aj @ s2m @ aj.T
        frob = float(np.sum(omega * omega))
        df[j] = np.trace(omega) ** 2 / frob if frob > 0 else math.nan
    return CovarianceEstimate(cov, df, "CR2", g_count)


COVARIANCE_ESTIMATORS: dict[str, type[CovarianceEstimator]] = {
    "classical": Classical,
    "HC1": HC1,
    "HC2": HC2,
    "CR0": CR0,
    "CR1": CR1,
    "CR1-stata": CR1Stata,
    "CR2": CR2,
}
"""Covariance conventions by name; see each class for its formula."""


def covariance(
    design: RegressionDesign, method: CovarianceType, *, n_interest: int | None = None
) -> CovarianceEstimate:
    """The covariance of the coefficients of ``design`` under convention ``method``.

    ``n_interest`` limits CR2's (costly) Satterthwaite df to the first coefficients.
    """
    if method not in COVARIANCE_ESTIMATORS:
        raise SpecError(
            f"Unknown covariance {method!r}; choose one of {', '.join(COVARIANCE_ESTIMATORS)}."
        )
    estimator = CR2(n_interest) if method == "CR2" else COVARIANCE_ESTIMATORS[method]()
    return estimator.compute(design)


FEW_TREATED = 10
"""Below this many treated (or control) clusters ``auto`` uses randomization inference."""

AUTO_RULE = (
    f"auto: randomization inference over placebo assignments of the treatment to units "
    f"when fewer than {FEW_TREATED} units are treated (or untreated); otherwise CR2 with "
    f"Bell-McCaffrey degrees of freedom when fewer than {FEW_CLUSTERS} clusters, treated "
    f"clusters or control clusters; otherwise CR1"
)
"""The rule ``inference="auto"`` follows for clustered panel designs, in words."""


def choose_covariance(
    n_clusters: int | None,
    n_treated_clusters: int | None = None,
    *,
    n_control_clusters: int | None = None,
) -> tuple[CovarianceType, str]:
    """The default covariance for a design, and a note saying why when it is not CR1.

    Unclustered designs get HC2.  Clustered designs get CR1 unless there are fewer
    than :data:`FEW_CLUSTERS` clusters, treated clusters or control clusters: CR1
    over-rejects when the clusters that carry the contrast are few, whatever their
    total (Cameron, Gelbach & Miller 2008; MacKinnon & Webb 2017), so the default
    becomes CR2 with Bell-McCaffrey (Satterthwaite) df, whose df fall with the
    number of treated clusters (Imbens & Kolesar 2016), and the note says so.

    >>> choose_covariance(12, 3)[0]
    'CR2'
    >>> choose_covariance(98, 4, n_control_clusters=94)[0]
    'CR2'
    """
    if n_clusters is None:
        return "HC2", ""
    reasons = []
    if n_clusters < FEW_CLUSTERS:
        reasons.append(f"only {n_clusters} clusters (< {FEW_CLUSTERS})")
    for label, count in (("treated", n_treated_clusters), ("control", n_control_clusters)):
        if count is not None and count < FEW_CLUSTERS:
            reasons.append(f"{count} {label} cluster{'s' if count != 1 else ''}")
    if not reasons:
        return "CR1", ""
    note = (
        "Inference: CR2 (Bell-McCaffrey) with Satterthwaite degrees of freedom was chosen "
        f"instead of CR1 because of {' and '.join(reasons)}; CR1 over-rejects when few "
        "clusters carry the contrast. Consider a wild cluster bootstrap (inference='wild') "
        "as a check."
    )
    if any(c is not None and c <= 1 for c in (n_treated_clusters, n_control_clusters)):
        note += (
            " With a single treated (or control) cluster no cluster-robust method is "
            "reliable; read the interval as optimistic and prefer randomization inference."
        )
    return "CR2", note


def choose_inference(
    n_clusters: int | None,
    n_treated_clusters: int | None = None,
    *,
    n_control_clusters: int | None = None,
    placebo: bool = False,
) -> tuple[str, str]:
    """The ``auto`` choice for a panel design (:data:`AUTO_RULE`) and a note.

    ``placebo`` says whether the design can re-estimate under placebo assignments
    (clusters are the units and the panel is balanced); without it, few treated
    clusters get CR2 (:func:`choose_covariance`).

    >>> choose_inference(50, 3, n_control_clusters=47, placebo=True)[0]
    'randomization'
    """
    few = [
        Text(
            f"inference.few_{label}_{'one' if count == 1 else 'many'}",
            f"{{n}} {label} unit{'' if count == 1 else 's'}",
            n=int(count),
        )
        for label, count in (("treated", n_treated_clusters), ("untreated", n_control_clusters))
        if count is not None and count < FEW_TREATED
    ]
    if not (placebo and few):
        return choose_covariance(
            n_clusters, n_treated_clusters, n_control_clusters=n_control_clusters
        )
    which = few[0] if len(few) == 1 else Text("inference.and", "{a} and {b}", a=few[0], b=few[1])
    note = Text(
        "inference.auto_randomization",
        "Inference: randomization inference over placebo assignments of the treatment to "
        "other units was chosen because only {few} carry the contrast: cluster-robust "
        "intervals under-cover there (CR1) or are very wide (CR2). The interval inverts the "
        "placebo test; it assumes the units' untreated outcomes are equally noisy "
        "(exchangeable).",
        few=which,
    )
    return "randomization", note


__all__ = [
    "COVARIANCE_ESTIMATORS",
    "CR0",
    "CR1",
    "CR2",
    "AUTO_RULE",
    "Classical",
    "FEW_CLUSTERS",
    "FEW_TREATED",
    "HC1",
    "HC2",
    "CR1Stata",
    "CovarianceEstimate",
    "CovarianceEstimator",
    "CovarianceType",
    "RegressionDesign",
    "choose_covariance",
    "choose_inference",
    "covariance",
    "is_nested",
]
