// The trend page's charts (templates/trends.html): a file of its own, so that the
// Content-Security-Policy can forbid inline scripts.
(function () {
  const report = JSON.parse(document.getElementById("trend-data").textContent);
  const GOOD = "#2e7d32", BAD = "#c62828", NONE = "#9e9e9e", TARGET = "#1565c0";
  const colour = (onTrack) => onTrack === true ? GOOD : (onTrack === false ? BAD : NONE);
  const years = report.total.years.map((p) => String(p.year));
  const fmt = (v) => v === null || v === undefined ? "—" : v.toFixed(2) + "‰";
  const font = { fontSize: 14 };

  const total = echarts.init(document.getElementById("chart-total"));
  total.setOption({
    tooltip: { trigger: "axis", valueFormatter: fmt },
    legend: { top: 0, textStyle: font },
    grid: { left: 60, right: 40, top: 50, bottom: 40 },
    xAxis: { type: "category", data: years, axisLabel: font },
    yAxis: { type: "value", name: "‰", axisLabel: font },
    series: [
      { name: "实际发生率", type: "line", data: report.total.years.map((p) => p.accident_rate_per_1000),
        symbolSize: 12, lineStyle: { width: 4 },
        itemStyle: { color: "#c23531" },
        label: { show: true, position: "top", formatter: (p) => fmt(p.value), fontSize: 14 } },
      { name: "目标线(2025 年下降 20%)", type: "line", data: report.total.years.map((p) => p.target_per_1000),
        lineStyle: { type: "dashed", width: 3, color: TARGET }, itemStyle: { color: TARGET }, symbol: "none" }
    ]
  });

  const charts = [total];
  for (const series of report.industries) {
    const chart = echarts.init(document.getElementById("chart-industry-" + series.industry));
    chart.setOption({
      title: { text: series.industry_zh, left: "center", textStyle: { fontSize: 15 } },
      tooltip: { trigger: "axis", valueFormatter: fmt },
      grid: { left: 45, right: 15, top: 35, bottom: 25 },
      xAxis: { type: "category", data: years },
      yAxis: { type: "value" },
      series: [
        { name: "发生率", type: "bar", data: series.years.map((p) => ({
            value: p.accident_rate_per_1000, itemStyle: { color: colour(p.on_track) } })) },
        { name: "目标", type: "line", data: series.years.map((p) => p.target_per_1000), symbol: "none",
          lineStyle: { type: "dashed", width: 2, color: TARGET } }
      ]
    });
    charts.push(chart);
  }

  const counties = report.counties.slice().sort(
    (a, b) => (a.accident_rate_per_1000 ?? -1) - (b.accident_rate_per_1000 ?? -1));
  const county = echarts.init(document.getElementById("chart-counties"));
  county.setOption({
    tooltip: { trigger: "axis", valueFormatter: fmt },
    legend: { top: 0, textStyle: font },
    grid: { left: 90, right: 80, top: 40, bottom: 30 },
    xAxis: { type: "value", name: "‰" },
    yAxis: { type: "category", data: counties.map((c) => c.division_name), axisLabel: font },
    series: [
      { name: "发生率", type: "bar", barMaxWidth: 28, itemStyle: { color: GOOD }, data: counties.map((c) => ({
          value: c.accident_rate_per_1000, itemStyle: { color: colour(c.on_track) } })),
        label: { show: true, position: "right", formatter: (p) => fmt(p.value), fontSize: 13 } },
      { name: "本县目标", type: "scatter", symbol: "diamond", symbolSize: 14,
        itemStyle: { color: TARGET }, data: counties.map((c) => c.target_per_1000) }
    ]
  });
  charts.push(county);
  window.addEventListener("resize", () => charts.forEach((c) => c.resize()));
})();
