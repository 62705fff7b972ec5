// The office dashboard's live parts: the alert stream (server-sent events, signed in by
// the HttpOnly cookie) refreshes the list and the charts; ECharts draws the charts.
(function () {
  "use strict";
  var status = document.getElementById("live-status");
  var toast = document.getElementById("toast");
  var openChart = echarts.init(document.getElementById("chart-open"));
  var resolutionChart = echarts.init(document.getElementById("chart-resolution"));
  var KIND = {
    project_not_enrolled: "项目未按项目参保",
    accident_uninsured_employer: "事故单位未参保",
    disease_uninsured_employer: "职业病单位未参保",
    enterprise_uninsured: "企业未参保",
    delivery_endpoint_disabled: "推送地址已停用"
  };

  function drawCharts() {
    fetch("/dashboard/charts.json", { credentials: "same-origin" })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(function (data) {
        openChart.setOption({
          animation: false,
          tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
          legend: { top: 0 },
          grid: { left: 40, right: 10, top: 40, bottom: 50 },
          xAxis: { type: "category", data: data.open.counties, axisLabel: { rotate: 30 } },
          yAxis: { type: "value", minInterval: 1 },
          series: data.open.series.map(function (s) {
            return { name: s.name, type: "bar", stack: "open", barMaxWidth: 48, data: s.data };
          })
        }, true);
        var median = data.resolution.median_hours;
        resolutionChart.setOption({
          animation: false,
          title: {
            text: "已解决 " + data.resolution.resolved + " 条" +
              (median === null ? "" : ", 中位用时 " + median + " 小时"),
            textStyle: { fontSize: 13, fontWeight: "normal" }
          },
          tooltip: { trigger: "axis" },
          grid: { left: 40, right: 10, top: 40, bottom: 30 },
          xAxis: { type: "category", data: data.resolution.buckets },
          yAxis: { type: "value", minInterval: 1 },
          series: [{ name: "预警数", type: "bar", data: data.resolution.counts, itemStyle: { color: "#3b7d4f" } }]
        }, true);
      })
      .catch(function () { /* the next change or reload draws them */ });
  }

  function say(text) {
    toast.textContent = text;
    toast.classList.add("shown");
    window.clearTimeout(say.timer);
    say.timer = window.setTimeout(function () { toast.classList.remove("shown"); }, 5000);
  }

  function connect() {
    var source = new EventSource("/dashboard/stream");
    source.onopen = function () {
      status.textContent = "实时: 已连接";
      status.className = "live on";
    };
    source.onerror = function () {
      status.textContent = "实时: 重新连接中";
      status.className = "live off";
    };
    source.addEventListener("alert", function (event) {
      var alert = JSON.parse(event.data);
      document.body.dispatchEvent(new Event("alerts-changed"));
      if (alert.status === "open" && !alert.acknowledged_at) {
        say("新预警: " + (KIND[alert.kind] || alert.kind) + " · " + (alert.subject.name || ""));
      }
    });
  }

  // Live arrivals and the dashboard's own acknowledgements both announce a change.
  var redraw = null;
  document.body.addEventListener("alerts-changed", function () {
    window.clearTimeout(redraw);
    redraw = window.setTimeout(drawCharts, 200);
  });
  window.addEventListener("resize", function () { openChart.resize(); resolutionChart.resize(); });
  drawCharts();
  connect();
})();
