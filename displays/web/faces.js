/*
 * mood-edge web display: the faces, drawn as SVG (emoji fonts are missing on many TVs). Only
 * constant shapes: nothing here comes from a message but the mood's name, looked up in FACES.
 */
'use strict';

(function () {
  const SVG_NS = 'http://www.w3.org/2000/svg';
  const own = (obj, key) => Object.prototype.hasOwnProperty.call(obj, key);

  // Faces drawn as SVG (emoji fonts are missing on many TVs); shapes in a 100x100 box.
  const BROWS_SAD = ['M25 33 L41 27', 'M75 33 L59 27'];
  const FACES = {
    happy: { eyes: 5, mouth: 'M27 58 Q50 90 73 58 Z', fillMouth: true },
    sad: { eyes: 5, brows: BROWS_SAD, mouth: 'M32 76 Q50 58 68 76' },
    angry: { eyes: 5, brows: ['M25 29 L43 38', 'M75 29 L57 38'], mouth: 'M33 74 Q50 63 67 74' },
    disgust: { squint: true, brows: ['M25 33 L42 33', 'M58 27 L75 31'], mouth: 'M31 71 Q40 62 50 70 T69 66' },
    fear: { eyes: 7, brows: ['M25 30 Q33 22 42 29', 'M75 30 Q67 22 58 29'],
            mouth: 'M30 73 Q35 67 40 73 T50 73 T60 73 T70 73' },
    surprise: { eyes: 7, brows: ['M25 27 Q33 20 42 26', 'M75 27 Q67 20 58 26'], ellipse: [50, 71, 9, 12] },
    neutral: { eyes: 5, mouth: 'M33 69 L67 69' },
  };

  function svg(tag, attrs) {
    const el = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
    return el;
  }

  function drawFace(mood) {
    const root = svg('svg', { viewBox: '0 0 100 100', class: 'face-svg' });
    if (mood === 'nobody') { // an empty sofa
      root.appendChild(svg('circle', { cx: 50, cy: 50, r: 46, class: 'face-bg empty' }));
      const parts = [[25, 31, 50, 24, 'sofa'], [15, 45, 14, 25, 'sofa'], [71, 45, 14, 25, 'sofa'],
                     [29, 53, 42, 13, 'sofa cushion']];
      for (const [x, y, width, height, cls] of parts) {
        root.appendChild(svg('rect', { x, y, width, height, rx: 4, class: cls }));
      }
      root.appendChild(svg('path', { d: 'M20 70 V76 M80 70 V76', class: 'stroke' }));
      return root;
    }
    const f = own(FACES, mood) ? FACES[mood] : FACES.neutral;
    root.appendChild(svg('circle', { cx: 50, cy: 50, r: 46, class: 'face-bg' }));
    if (f.squint) {
      root.appendChild(svg('path', { d: 'M28 44 L42 44 M58 44 L72 44', class: 'stroke' }));
    } else {
      root.appendChild(svg('circle', { cx: 35, cy: 44, r: f.eyes, class: 'ink' }));
      root.appendChild(svg('circle', { cx: 65, cy: 44, r: f.eyes, class: 'ink' }));
    }
    for (const d of f.brows || []) root.appendChild(svg('path', { d, class: 'stroke' }));
    if (f.mouth) root.appendChild(svg('path', { d: f.mouth, class: f.fillMouth ? 'ink' : 'stroke' }));
    if (f.ellipse) {
      const [cx, cy, rx, ry] = f.ellipse;
      root.appendChild(svg('ellipse', { cx, cy, rx, ry, class: 'ink' }));
    }
    return root;
  }

  window.MoodEdgeFaces = { drawFace };
})();
