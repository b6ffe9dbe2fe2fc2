"""Bradley-Terry with ties (Davidson 1970), for studies that offer "no visible difference".

P(i preferred to j) = pi_i / D, P(tie) = nu sqrt(pi_i pi_j) / D, D = pi_i + pi_j + nu sqrt(pi_i pi_j), with
pi = exp(theta). Among the decided votes it is plain Bradley-Terry, so theta / K is on the same Elo scale;
nu says how readily people call a pair equal (the tie probability of two equal conditions is nu / (2 + nu)).
Fitted by maximum likelihood (L-BFGS on theta and log nu, analytic gradient) with the same small L2
penalty on theta as the plain fit, scores centred.
"""

from __future__ import annotations

import numpy as np
import scipy.optimize

LOG_NU_BOUNDS = (-12.0, 6.0)


def _nll_grad(params: np.ndarray, wins: np.ndarray, ties: np.ndarray, l2: float) -> tuple[float, np.ndarray]:
    n = wins.shape[0]
    theta, log_nu = params[:n], params[n]
    nu = np.exp(log_nu)
    d = theta[:, None] - theta[None, :]
    half = np.clip(d / 2.0, -300, 300)
    denom = 2.0 * np.cosh(half) + nu
    log_denom = np.log(denom)
    s = np.sinh(half) / denom  # d/dd of log(2 cosh(d/2) + nu)
    loss = float(np.sum(wins * (log_denom - d / 2.0)) + 0.5 * np.sum(ties * (log_denom - log_nu)))
    loss += l2 * float(theta @ theta)
    g = wins * (s - 0.5) + 0.5 * ties * s
    grad_theta = g.sum(axis=1) - g.sum(axis=0) + 2.0 * l2 * theta
    r = nu / denom
    grad_nu = float(np.sum(wins * r) + 0.5 * np.sum(ties * (r - 1.0)))
    return loss, np.append(grad_theta, grad_nu)


def fit_davidson(wins: np.ndarray, ties: np.ndarray, l2: float = 1e-3,
                 start: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    """(theta in logit units, centred; nu) from a win-count matrix (wins[i, j]: i preferred to j) and a
    symmetric tie-count matrix (ties[i, j] = ties[j, i]: ties between i and j)."""
    n = wins.shape[0]
    decided, tied = float(wins.sum()), float(ties.sum()) / 2.0
    share = min(max(tied / max(decided + tied, 1e-9), 1e-4), 0.95)
    x0 = np.append(np.zeros(n), np.log(2 * share / (1 - share))) if start is None else start
    bounds = [(None, None)] * n + [LOG_NU_BOUNDS]
    result = scipy.optimize.minimize(_nll_grad, x0, args=(wins, ties, l2), jac=True, method="L-BFGS-B",
                                     bounds=bounds, options={"maxiter": 500, "ftol": 1e-12, "gtol": 1e-8})
    theta = result.x[:n]
    return theta - theta.mean(), float(np.exp(result.x[n]))


def tie_probability(elo_a: np.ndarray | float, elo_b: np.ndarray | float, nu: float) -> np.ndarray:
    from harness.pairwise.scoring import K

    d = K * (np.asarray(elo_a) - np.asarray(elo_b))
    return nu / (2.0 * np.cosh(d / 2.0) + nu)


def davidson_outcome_probabilities(elo_a: float, elo_b: float, nu: float) -> tuple[float, float, float]:
    """(P(a preferred), P(b preferred), P(tie)) under Davidson's model on the Elo scale."""
    from harness.pairwise.scoring import K

    d = K * (elo_a - elo_b)
    denom = np.exp(d / 2.0) + np.exp(-d / 2.0) + nu
    return float(np.exp(d / 2.0) / denom), float(np.exp(-d / 2.0) / denom), float(nu / denom)
