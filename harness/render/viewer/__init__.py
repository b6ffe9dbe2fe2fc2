"""``harness view``: a self-contained static site to look at a run's reconstructions.

- :mod:`harness.render.viewer.site`: what the site shows (from the results table), its pages and data;
- :mod:`harness.render.viewer.rundata`: reading a run (row values, kept pixels, --match reference, tolerance);
- :mod:`harness.render.viewer.assets`: its image files (reconstructions, difference and detail maps);
- :mod:`harness.render.viewer.curves`: the run's mean RD curves for the chart;
- :mod:`harness.render.viewer.server`: serving it on localhost, making image files on first request;
- ``static/display.js``: the display rule (integer zoom in device pixels, area-filtered fit), shared with
  the pairwise study; ``static/compare.js`` + ``compare.css``: the reusable comparison component (slider,
  flip, side by side, synchronised zoom and pan, difference and detail maps, touch), documented at its top;
- ``static/chart.js``: the RD chart (plain SVG); ``static/viewer.js``, ``pairs.js``, ``dom.js``, ``viewer.css``
  and ``pages/*.html`` (bodies, in the shell of :mod:`harness.render.page`): the index, comparison and
  matched-pairs pages.
"""

from harness.render.viewer.site import BuildResult, SitePlan, ViewerError, plan_site, write_site

__all__ = ["BuildResult", "SitePlan", "ViewerError", "plan_site", "write_site"]
