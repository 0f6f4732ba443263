/* Dashboard charts: reads the JSON the page embeds (#chart-data) and draws one ECharts
   chart per element with a data-chart attribute: balance as bars, accounts as a line. */
(function () {
  "use strict";

  var ACCENT = "#0b6e69";
  var WARM = "#d97706";

  function numberFormat(options) {
    var locale = document.documentElement.lang || "zh-CN";
    return new Intl.NumberFormat(locale, options);
  }

  function compact(value) {
    return numberFormat({ notation: "compact", maximumFractionDigits: 1 }).format(value);
  }

  function option(series, legend) {
    var money = numberFormat({ minimumFractionDigits: 2, maximumFractionDigits: 2 });
    var whole = numberFormat({ maximumFractionDigits: 0 });
    return {
      color: [ACCENT, WARM],
      // Canvas text does not inherit CSS: use the page's font, so Chinese renders alike.
      textStyle: { fontFamily: window.getComputedStyle(document.body).fontFamily },
      grid: { left: 8, right: 8, top: 36, bottom: 8, containLabel: true },
      legend: { top: 0, data: [legend.outstanding, legend.accounts] },
      tooltip: {
        trigger: "axis",
        axisPointer: { type: "shadow" },
        formatter: function (points) {
          var lines = [points[0].axisValueLabel];
          points.forEach(function (point) {
            var shown = point.seriesIndex === 0 ? money.format(point.value) : whole.format(point.value);
            lines.push(point.marker + " " + point.seriesName + ": " + shown);
          });
          return lines.join("<br>");
        }
      },
      xAxis: { type: "category", data: series.labels, axisTick: { alignWithLabel: true } },
      yAxis: [
        { type: "value", axisLabel: { formatter: compact }, splitLine: { lineStyle: { color: "#eef1f4" } } },
        { type: "value", axisLabel: { formatter: compact }, splitLine: { show: false } }
      ],
      series: [
        {
          name: legend.outstanding,
          type: "bar",
          barMaxWidth: 42,
          data: series.outstanding.map(Number),
          itemStyle: { borderRadius: [3, 3, 0, 0] }
        },
        {
          name: legend.accounts,
          type: "line",
          yAxisIndex: 1,
          smooth: true,
          symbolSize: 6,
          data: series.accounts
        }
      ]
    };
  }

  function draw() {
    var source = document.getElementById("chart-data");
    if (!source || typeof window.echarts === "undefined") {
      return;
    }
    var data = JSON.parse(source.textContent);
    var charts = [];
    document.querySelectorAll("[data-chart]").forEach(function (element) {
      var series = data[element.getAttribute("data-chart")];
      if (!series) {
        return;
      }
      var chart = window.echarts.init(element, null, { renderer: "canvas" });
      chart.setOption(option(series, data.legend));
      charts.push(chart);
    });
    window.addEventListener("resize", function () {
      charts.forEach(function (chart) { chart.resize(); });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
