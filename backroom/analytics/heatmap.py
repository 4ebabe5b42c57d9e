"""Exception concentration: alerts plus the report exception lists of a module's functions,
counted by weekday x hour (in each branch's own zone) or by category x branch. The rows come
from the database (one query per source, bounded by the window); the counting is pandas."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pandas as pd
from sqlalchemy import literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from backroom.alerts.kinds import label as kind_label
from backroom.alerts.models import ExceptionAlert
from backroom.analytics.modules import Module
from backroom.analytics.schemas import HeatCell, HeatmapRead
from backroom.branches.models import Branch
from backroom.errors import InvalidInput
from backroom.reports import catalog
from backroom.reports.service import Filters, Window, _conditions

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MODES = ("weekday_hour", "category_branch")
MAX_DAYS = 366
ROW_LIMIT = 100_000


async def exception_rows(
    session: AsyncSession, *, module: Module, branches: dict[int, Branch], since: datetime, until: datetime
) -> pd.DataFrame:
    """Every exception in the window: id, at (UTC), branch, category, link."""
    frames = []
    ids = list(branches)
    alerts = (
        await session.execute(
            select(
                ExceptionAlert.id,
                ExceptionAlert.raised_at,
                ExceptionAlert.branch_id,
                ExceptionAlert.kind,
                ExceptionAlert.id,
            )
            .where(
                ExceptionAlert.branch_id.in_(ids),
                ExceptionAlert.module == module.key,
                ExceptionAlert.raised_at >= since,
                ExceptionAlert.raised_at < until,
            )
            .limit(ROW_LIMIT)
        )
    ).all()
    df = pd.DataFrame(alerts, columns=["id", "at", "branch", "category", "link"])
    df["category"] = df["category"].map(lambda k: f"Alert: {kind_label(k)}")
    df["link"] = "/alerts/" + df["link"].astype(str)
    frames.append(df)
    by_tz: dict[str, list[int]] = {}
    for b in branches.values():
        by_tz.setdefault(b.timezone, []).append(b.id)
    windows = [Window(tz, tuple(v), since, until, ()) for tz, v in by_tz.items()]
    for fn in module.functions:
        fr = catalog.functions().get(fn)
        for el in fr.exceptions if fr else ():
            src = el.source
            if src.as_of is not None:
                continue  # a balance at a moment (overdue accounts): no time of day; alerts cover it
            link_col = src.link[1] if src.link else literal(None)
            stmt = (
                select(src.id, src.at, src.branch, link_col)
                .select_from(src.table)
                .where(*_conditions(src, windows, Filters()))
                .limit(ROW_LIMIT)
            )
            if el.where is not None:
                stmt = stmt.where(el.where)
            rows = (await session.execute(stmt)).all()
            f = pd.DataFrame(rows, columns=["id", "at", "branch", "link"])
            f["category"] = el.label
            template = src.link[0] if src.link else None
            f["link"] = f["link"].map(lambda v, t=template: t.format(v) if t and v is not None else "")
            frames.append(f)
    out = (
        pd.concat([f for f in frames if not f.empty], ignore_index=True)
        if any(not f.empty for f in frames)
        else frames[0]
    )
    if out.empty:
        return out.assign(dow=pd.Series(dtype=int), hour=pd.Series(dtype=int))
    at = pd.to_datetime(out["at"], utc=True)
    local = pd.Series(pd.NaT, index=out.index, dtype="datetime64[ns]")
    tzs = out["branch"].map({i: b.timezone for i, b in branches.items()})
    for tz, idx in out.groupby(tzs).groups.items():
        local.loc[idx] = at.loc[idx].dt.tz_convert(tz).dt.tz_localize(None).values
    return out.assign(dow=local.dt.day_of_week.astype(int), hour=local.dt.hour.astype(int))


def _window(days: int, now: datetime | None) -> tuple[datetime, datetime]:
    if not 1 <= days <= MAX_DAYS:
        raise InvalidInput(f"Days is between 1 and {MAX_DAYS}.", field="days")
    until = now or datetime.now(UTC)
    return until - timedelta(days=days), until


async def heatmap(
    session: AsyncSession,
    *,
    module: Module,
    branches: dict[int, Branch],
    mode: str = "weekday_hour",
    days: int = 90,
    now: datetime | None = None,
    base_link: str = "",
) -> HeatmapRead:
    """Counts per cell; each cell links to the list of its records."""
    if mode not in MODES:
        raise InvalidInput("Mode is weekday_hour or category_branch.", field="mode")
    since, until = _window(days, now)
    df = await exception_rows(session, module=module, branches=branches, since=since, until=until)
    names = {i: b.name for i, b in branches.items()}
    if mode == "weekday_hour":
        rows, cols = list(WEEKDAYS), [f"{h:02d}" for h in range(24)]
        counts = df.groupby(["dow", "hour"]).size()
        keyed = {(WEEKDAYS[d], f"{h:02d}"): (int(n), {"dow": d, "hour": h}) for (d, h), n in counts.items()}
    else:
        counts = df.groupby(["category", "branch"]).size()
        rows = sorted(df["category"].unique().tolist())
        cols = [names[i] for i in branches]
        keyed = {
            (c, names[b]): (int(n), {"cell_category": c, "cell_branch": b}) for (c, b), n in counts.items()
        }
    cells = [
        HeatCell(row=r, column=c, count=n, link=f"{base_link}?{urlencode({'mode': mode, 'days': days, **q})}")
        for (r, c), (n, q) in sorted(keyed.items())
    ]
    return HeatmapRead(
        mode=mode,
        rows=rows,
        columns=cols,
        cells=cells,
        total=len(df),
        days=days,
        sources=["alerts", *list(module.functions)],
    )


async def cell_records(
    session: AsyncSession,
    *,
    module: Module,
    branches: dict[int, Branch],
    days: int,
    dow: int | None = None,
    hour: int | None = None,
    category: str | None = None,
    cell_branch: int | None = None,
    now: datetime | None = None,
    limit: int = 200,
) -> list[dict]:
    """The records behind one heatmap cell, newest first, with their links."""
    since, until = _window(days, now)
    df = await exception_rows(session, module=module, branches=branches, since=since, until=until)
    mask = pd.Series(True, index=df.index)
    if dow is not None:
        mask &= df["dow"] == dow
    if hour is not None:
        mask &= df["hour"] == hour
    if category is not None:
        mask &= df["category"] == category
    if cell_branch is not None:
        mask &= df["branch"] == cell_branch
    hits = df[mask].sort_values("at", ascending=False).head(limit)
    names = {i: b.name for i, b in branches.items()}
    return [
        {
            "category": c,
            "at": pd.Timestamp(a).to_pydatetime(),
            "branch": names.get(b, ""),
            "link": lnk,
            "id": int(i),
        }
        for i, a, b, c, lnk in hits[["id", "at", "branch", "category", "link"]].itertuples(index=False)
    ]
