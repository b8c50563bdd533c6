/**
 * Images: JPEG/PNG codecs, header sniffing, resizing, drawing, VOC
 * palette label masks, and dependency-free SVG plots. Pure JS; depends
 * only on `core/types.ts`.
 */
export * from "./codec.ts";
export * from "./draw.ts";
export * from "./resize.ts";
export * from "./header.ts";
export * from "./mask_png.ts";
export * from "./source_image.ts";
export * from "./svg_plot.ts";
