"""The print stage: a map's one-page handout, drawn from the same geometry four ways.

It takes in a map's :class:`~tilepress.config.model.MapSpec` (title, caption, extent,
projection, page, colours, patterns, markers, print options), its
:class:`~tilepress.sources.table.CountryTable` (country polygons in WGS 84 with their
attributes, and after them the rows of land no country holds), its
:class:`~tilepress.sources.highlights.Highlighting` (which rows belong to which highlight
group) and its overlay areas (:func:`~tilepress.sources.overlays.read_overlays`). It gives
out the screen PDF (RGB), the print PDF (CMYK only, with bleed and crop marks, opaque vector
art without transparency), the SVG of the map alone and a PNG preview of the PDF's page, and
a :class:`~tilepress.printing.sheet.PrintReport` of what it drew and left out.

:mod:`~tilepress.printing.sheet` is the entry point (``plan_print_sheet``,
``build_print_sheet``, ``render_preview``). In the order a sheet is made:

- planning: :mod:`.plan` (fonts, projection, layout, frame, before the countries are read),
  :mod:`.fonts`, :mod:`.credit`, :mod:`.layout`, :mod:`.frame`, :mod:`.graticule`;
- geometry: :mod:`.geometry` (the projection pipeline), :mod:`.paths` (page rings, shared
  borders, outlines, PDF and SVG path text) and :mod:`.overlays` (the overlays through the
  same pipeline), gathered in :mod:`.contents`;
- drawing the PDF: :mod:`.page` (canvas, boxes, crop marks, text, the drawing order),
  :mod:`.map_drawing`, :mod:`.patterns` (hatch, cross and dots as clipped vector art; which
  rows have one), :mod:`.overlays`, :mod:`.drawing` (what the keys share), :mod:`.markers`
  (dots on tiny countries), :mod:`.marks` (the story markers and their labels),
  :mod:`.insets`, :mod:`.legend`, :mod:`.scale_bar`, :mod:`.labels`, :mod:`.color`, and
  :mod:`.flate` (stream compression);
- the other outputs: :mod:`.svg` and :mod:`.preview`.
"""
