"""Forecast of the next bucket with 80% and 95% prediction intervals (statsmodels ETS), and
its back-test error. Pure functions of a series: the service feeds them from the catalog.

Model: additive errors, damped additive trend, and additive weekly seasonality when the
series is daily and at least four weeks long. Initial states use statsmodels' heuristic, so
only the smoothing parameters are estimated (fast and stable on short shop series).

Back-test: the parameters are estimated on the series without its last k buckets; smoothing
the whole series with those parameters gives, for each of the last k buckets, the forecast
made one step before it from data before it. MAPE over those k buckets is shown beside the
forecast (buckets whose actual is zero are left out of the percentage).

Many series at once (one per branch): the parameters are estimated once on their total and
each branch is smoothed with them (its own level, trend and season). One fit instead of
twenty keeps "all branches" within a second; a single series always gets its own fit."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from backroom.analytics.series import Bucket

NEEDED = {Bucket.DAY: 21, Bucket.WEEK: 12, Bucket.MONTH: 12}
BACKTEST = {Bucket.DAY: 7, Bucket.WEEK: 4, Bucket.MONTH: 3}
SEASON = {Bucket.DAY: 7}
FREQ = {Bucket.DAY: "D", Bucket.WEEK: "W-MON", Bucket.MONTH: "MS"}


@dataclass
class Result:
    enough: bool
    message: str
    n: int
    needed: int
    method: str | None = None
    mean: float | None = None
    lower_80: float | None = None
    upper_80: float | None = None
    lower_95: float | None = None
    upper_95: float | None = None
    mape_pct: float | None = None
    backtest: int = 0


def _model(y: pd.Series, bucket: Bucket):
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    season = SEASON.get(bucket)
    seasonal = season is not None and len(y) >= 4 * season
    model = ETSModel(
        y.astype(float).reset_index(drop=True),
        error="add",
        trend="add",
        damped_trend=True,
        seasonal="add" if seasonal else None,
        seasonal_periods=season if seasonal else None,
        initialization_method="heuristic",
    )
    method = "ETS(A,Ad,A) weekly season" if seasonal else "ETS(A,Ad,N)"
    return model, method


def short(y: pd.Series, bucket: Bucket) -> Result | None:
    """The "not enough history" answer, or None when the series can be forecast."""
    needed = NEEDED[bucket]
    clean = y.dropna()
    if len(clean) < needed:
        return Result(
            False,
            f"Not enough history to forecast: {len(clean)} complete {bucket.value}s of data, "
            f"{needed} needed. No guess is shown.",
            len(clean),
            needed,
        )
    if float(np.nanstd(clean.values)) == 0.0:
        c = float(clean.iloc[-1])
        # ETS cannot be fitted to a flat line; the honest forecast of one is the line itself.
        return Result(
            True,
            f"The last {len(clean)} {bucket.value}s were all {c:g}; the forecast repeats it.",
            len(clean),
            needed,
            "constant",
            c,
            c,
            c,
            c,
            c,
            0.0 if c else None,
            BACKTEST[bucket],
        )
    return None


def estimate(y: pd.Series, bucket: Bucket) -> np.ndarray:
    """Smoothing parameters estimated on the series without its back-test buckets."""
    train = y.iloc[: -BACKTEST[bucket]]
    model, _ = _model(train, bucket)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.asarray(model.fit(disp=False).params)


def forecast(
    y: pd.Series, bucket: Bucket, params: np.ndarray | None = None, *, floor: float | None = 0.0
) -> Result:
    """Forecast the bucket after `y` (complete buckets only; gaps filled forward)."""
    y = y.astype(float).ffill().dropna()
    refused = short(y, bucket)
    if refused is not None:
        return refused  # too short (enough=False) or flat (the constant)
    k = BACKTEST[bucket]
    if params is None:
        params = estimate(y, bucket)
    model, method = _model(y, bucket)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = model.smooth(params)
        n = len(y)
        pred = res.get_prediction(start=n, end=n)
        f80 = pred.summary_frame(alpha=0.20).iloc[0]
        f95 = pred.summary_frame(alpha=0.05).iloc[0]
    actual = y.values[-k:]
    fitted = np.asarray(res.fittedvalues)[-k:]
    nz = actual != 0
    mape = float(np.mean(np.abs((actual[nz] - fitted[nz]) / actual[nz])) * 100) if nz.any() else None

    def clip(v: float) -> float:
        return float(max(v, floor)) if floor is not None else float(v)

    return Result(
        True,
        f"Forecast from {n} {bucket.value}s of history ({method}).",
        n,
        NEEDED[bucket],
        method,
        clip(f80["mean"]),
        clip(f80["pi_lower"]),
        clip(f80["pi_upper"]),
        clip(f95["pi_lower"]),
        clip(f95["pi_upper"]),
        mape,
        k,
    )


def forecast_many(series: dict[int, pd.Series], bucket: Bucket) -> dict[int, Result]:
    """Forecast several aligned series (branches) with parameters estimated once on their total."""
    clean = {k: s.astype(float).ffill().fillna(0.0) for k, s in series.items()}
    if not clean:
        return {}
    total = pd.concat(list(clean.values()), axis=1, sort=True).fillna(0.0).sum(axis=1)
    params = None if short(total, bucket) is not None else estimate(total, bucket)  # None: short or flat
    out = {}
    for key, s in clean.items():
        if params is None or short(s, bucket) is not None:
            out[key] = forecast(s, bucket)  # the refusal, in words
        else:
            out[key] = forecast(s, bucket, params)
    return out
