/*
 * page_assets.h - the page of `--html`, carried in the binary.
 *
 * Path: sim/render/page/page.html, page.css, page.js -> tools/embed-page.c (at
 *       build time) -> build/gen/page_assets.c -> render_html.c writes
 *       page_part[0], the title, page_part[1], the title, page_part[2],
 *       the events (JSON Lines), page_part[3], the plot (SVG), page_part[4].
 */
#ifndef TCPDEMUX_PAGE_ASSETS_H
#define TCPDEMUX_PAGE_ASSETS_H

#define PAGE_PARTS 5

extern const char *const page_part[PAGE_PARTS];

#endif
