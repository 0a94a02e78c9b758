"""Parts of the tile server (`tilepress.server`): HTTP helpers, HTML pages, the fast tile
path and the HTTP protocol with request-size limits."""
