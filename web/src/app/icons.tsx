// The app's pictures, drawn as line icons in inline SVG: no image to download, the same on every phone (an old
// Android lacks many emoji), coloured by the text around them. They are decoration beside a written label, so
// screen readers skip them.

const circle = (x: number, y: number, r: number) => `M${x - r} ${y}a${r} ${r} 0 1 0 ${2 * r} 0a${r} ${r} 0 1 0 ${-2 * r} 0`;

const PATHS: Record<string, string> = {
  // categories
  'traffic': `M8 2h8v20H8z${circle(12, 7, 1.5)}${circle(12, 12, 1.5)}${circle(12, 17, 1.5)}`,
  'garbage': 'M4 6h16M9 6V3h6v3M6 6l1 15h10l1-15M10 10v7M14 10v7',
  'flood': 'M2 8q2.5-3 5 0t5 0t5 0t5 0M2 13q2.5-3 5 0t5 0t5 0t5 0M2 18q2.5-3 5 0t5 0t5 0t5 0',
  'rule-violation': 'M12 3L2 21h20zM12 9v5M12 17.5v.5',
  'fire': 'M12 2c1 4 6 6 6 12a6 6 0 0 1-12 0c0-3 2-5 3-6 0 2 1 3 2 3 0-3-1-6 1-9z',
  'damaged-road': 'M8 2L4 22M16 2l4 20M12 3v3M12 9l-2 3 3 2-1 4',
  'beggars': `M3 12h18a9 7 0 0 1-18 0z${circle(12, 6, 2.5)}`,
  'street-vendors': `M2 4h3l2 11h11l2-8H6${circle(9, 19, 1.5)}${circle(17, 19, 1.5)}`,
  'crime': 'M6 18v-6a6 6 0 0 1 12 0v6M4 18h16v3H4zM12 2v2M4 5l1.5 1.5M20 5l-1.5 1.5',
  'street-light': 'M9 18h6M10 21h4M12 3a6 6 0 0 0-4 10.5c1 1 1 2 1 3.5h6c0-1.5 0-2.5 1-3.5A6 6 0 0 0 12 3z',
  'fallen-tree': 'M2 21h20M5 18l6-6M11 12a4 4 0 1 1 6 -5 4 4 0 0 1 1 7 4 4 0 0 1-7-2z',
  'public-facilities': 'M3 21h18M4 9h16M12 3l8 6H4zM6 9v12M10 9v12M14 9v12M18 9v12',
  'illegal-parking': 'M4 4h16v16H4zM9 17V7h4a3 3 0 0 1 0 6H9M4 20L20 4',
  'building-permit': 'M5 22V4M3 4h18M5 8l4-4M17 4v6M15 10h4v4h-4zM2 22h7',
  'jockey-3in1': `M3 16v-4l2-5h14l2 5v4zM3 12h18${circle(7, 17.5, 1.5)}${circle(17, 17.5, 1.5)}`,
  'no-smoking': `${circle(12, 12, 9)}M5.6 5.6l12.8 12.8M7 11h7v3H7zM16.5 11v3`,
  'unlicensed-ads': 'M3 10v4h3l8 5V5l-8 5zM18 8a5 5 0 0 1 0 8',
  'unhygienic-food': 'M3 12h18a9 9 0 0 1-18 0zM9 3c-1 1.5 1 2.5 0 4M14 3c-1 1.5 1 2.5 0 4',
  'transjakarta': `M5 3h14v15H5zM5 11h14M8 21v-3M16 21v-3${circle(8, 14.5, 1)}${circle(16, 14.5, 1)}`,
  'terrorism': 'M12 2l8 3v6c0 5-3.5 9-8 11-4.5-2-8-6-8-11V5zM12 8v5M12 16.5v.5',
  'utilities': 'M12 3c3 4 6 7.5 6 11a6 6 0 0 1-12 0c0-3.5 3-7 6-11z',
  // the app
  'pin': `M12 22s7-6.5 7-12a7 7 0 0 0-14 0c0 5.5 7 12 7 12z${circle(12, 10, 2.5)}`,
  'camera': `M3 8h4l2-3h6l2 3h4v12H3z${circle(12, 13.5, 3.5)}`,
  'list': 'M9 6h12M9 12h12M9 18h12M4 6h.01M4 12h.01M4 18h.01',
  'bell': 'M6 16v-5a6 6 0 0 1 12 0v5l2 2H4zM10 21h4',
  'map': 'M3 6l6-3 6 3 6-3v15l-6 3-6-3-6 3zM9 3v15M15 6v15',
  'user': `${circle(12, 8, 4)}M4 21a8 8 0 0 1 16 0`,
  'support': 'M7 11v10H3V11zM7 11l4-8a2 2 0 0 1 2 2v4h6a2 2 0 0 1 2 2.3l-1.3 7A2 2 0 0 1 17.7 21H7',
};

/** A category's picture; any category without its own gets the map pin. */
export function Icon(props: { name: string; class?: string }) {
  return (
    <svg class={`icon ${props.class ?? ''}`} viewBox="0 0 24 24" aria-hidden="true" focusable="false">
      <path d={PATHS[props.name] ?? PATHS.pin} />
    </svg>
  );
}
