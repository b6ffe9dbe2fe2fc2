"""Bradley-Terry with ties (Davidson 1970), for studies that offer "no visible difference".

P(i preferred to j) = pi_i / D, P(tie) = nu sqrt(pi_i pi_j) / D, D = pi_i + pi_j + nu sqrt(pi_i pi_j), with
pi = exp(theta). Among the decided votes it is plain Bradley-Terry, so theta / K is on the same Elo scale;
nu says how readily people call a pair equal (the tie probability of two equal conditions is nu / (2 + nu)).
Fitted by maximum likelihood (Newton's method on theta and log nu, analytic gradient and Hessian) with the
same small L2 penalty on theta as the plain fit, scores centred.
"""

from __future__ import annotations

import math

import numpy as np

ELO_SCALE = 400.0  # Elo points for a factor of 10 in the odds
K = math.log(10.0) / ELO_SCALE  # logit units per Elo point
LOG_NU_BOUNDS = (-12.0, 6.0)


def _parts(theta: np.ndarray, log_nu: float) -> tuple[np.ndarray, ...]:
    nu = np.exp(log_nu)
    d = theta[:, None] - theta[None, :]
    half = np.clip(d / 2.0, -300, 300)
    cosh, sinh = np.cosh(half), np.sinh(half)
    denom = 2.0 * cosh + nu
    return d, cosh, sinh, denom, nu


def _loss(theta: np.ndarray, log_nu: float, wins: np.ndarray, ties: np.ndarray, l2: float) -> float:
    d, _, _, denom, _ = _parts(theta, log_nu)
    log_denom = np.log(denom)
    return float(np.sum(wins * (log_denom - d / 2.0)) + 0.5 * np.sum(ties * (log_denom - log_nu))
                 + l2 * theta @ theta)


def fit_davidson(wins: np.ndarray, ties: np.ndarray, l2: float = 1e-3) -> tuple[np.ndarray, float]:
    """(theta in logit units, centred; nu) from a win-count matrix (wins[i, j]: i preferred to j) and a
    symmetric tie-count matrix (ties[i, j] = ties[j, i]: ties between i and j). Newton's method with
    backtracking on (theta, log nu): the penalised objective is smooth and convex in theta, and a few
    steps suffice."""
    n = wins.shape[0]
    decided, tied = float(wins.sum()), float(ties.sum()) / 2.0
    share = min(max(tied / max(decided + tied, 1e-9), 1e-4), 0.95)
    theta, log_nu = np.zeros(n), float(np.log(2 * share / (1 - share)))
    m = wins + 0.5 * ties  # the weight of log(denominator) in each ordered pair's term
    loss = _loss(theta, log_nu, wins, ties, l2)
    for _ in range(100):
        _, cosh, sinh, denom, nu = _parts(theta, log_nu)
        s, r = sinh / denom, nu / denom
        g = m * s - 0.5 * wins
        grad = np.append(g.sum(axis=1) - g.sum(axis=0) + 2.0 * l2 * theta, float(np.sum(m * r) - 0.5 * ties.sum()))
        h = m * (0.5 * cosh * denom - sinh**2) / denom**2
        h = h + h.T
        hessian = np.zeros((n + 1, n + 1))
        hessian[:n, :n] = np.diag(h.sum(axis=1)) - h + 2.0 * l2 * np.eye(n)
        e = -m * r * s
        hessian[:n, n] = hessian[n, :n] = e.sum(axis=1) - e.sum(axis=0)
        hessian[n, n] = float(np.sum(m * r * (1.0 - r))) + 1e-9
        try:
            step = np.linalg.solve(hessian, grad)
        except np.linalg.LinAlgError:
            step = grad
        scale = 1.0
        while True:
            new_theta = theta - scale * step[:n]
            new_log_nu = float(np.clip(log_nu - scale * step[n], *LOG_NU_BOUNDS))
            new_loss = _loss(new_theta, new_log_nu, wins, ties, l2)
            if new_loss <= loss + 1e-12 or scale < 1e-8:
                break
            scale *= 0.5
        moved = max(float(np.max(np.abs(new_theta - theta))), abs(new_log_nu - log_nu))
        theta, log_nu, loss = new_theta, new_log_nu, new_loss
        if moved < 1e-9:
            break
    return theta - theta.mean(), float(np.exp(log_nu))


def tie_probability(elo_a: np.ndarray | float, elo_b: np.ndarray | float, nu: float) -> np.ndarray:
    d = K * (np.asarray(elo_a) - np.asarray(elo_b))
    return nu / (2.0 * np.cosh(d / 2.0) + nu)


def davidson_outcome_probabilities(elo_a: float, elo_b: float, nu: float) -> tuple[float, float, float]:
    """(P(a preferred), P(b preferred), P(tie)) under Davidson's model on the Elo scale."""
    d = K * (elo_a - elo_b)
    denom = np.exp(d / 2.0) + np.exp(-d / 2.0) + nu
    return float(np.exp(d / 2.0) / denom), float(np.exp(-d / 2.0) / denom), float(nu / denom)
