"""Analytics over the metric catalog: time series, trend, variance vs baseline and targets,
exception heatmap and forecast. Every number comes from `backroom.reports.catalog` measures."""
