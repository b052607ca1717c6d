import { useEffect, useRef, useState } from "react";

export interface LogLine {
  seq: number;
  type: string;
  text: string;
  at: Date;
  /** The event's own type (`claimed`, `stage`, `log`…); `type` groups lifecycle events for styling. */
  event: string;
}

const LINE_PX = 20;
const OVERSCAN = 20;

/**
 * Only the lines in view are in the DOM, so a 50,000-line log scrolls as smoothly as a short
 * one. It follows the end while the reader is at the end, and stays put once they scroll up.
 */
export function LogView({ lines, maxHeight = 420 }: { lines: readonly LogLine[]; maxHeight?: number }) {
  // a short log takes the room it needs; a long one scrolls inside a fixed box
  const height = Math.min(maxHeight, lines.length * LINE_PX + 2);
  const box = useRef<HTMLElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const following = useRef(true);
  useEffect(() => {
    const element = box.current;
    if (element && following.current && lines.length) element.scrollTop = element.scrollHeight;
  }, [lines.length]);
  const first = Math.max(0, Math.floor(scrollTop / LINE_PX) - OVERSCAN);
  const last = Math.min(lines.length, Math.ceil((scrollTop + height) / LINE_PX) + OVERSCAN);
  return (
    <section
      ref={box}
      className="log"
      style={{ height }}
      // a scrollable region must be reachable from the keyboard to scroll it (WCAG 2.1.1)
      // biome-ignore lint/a11y/noNoninteractiveTabindex: see above
      tabIndex={0}
      aria-label="job log"
      data-testid="log"
      onScroll={(event) => {
        const element = event.currentTarget;
        setScrollTop(element.scrollTop);
        following.current = element.scrollTop + element.clientHeight >= element.scrollHeight - LINE_PX;
      }}
    >
      <div style={{ height: lines.length * LINE_PX, position: "relative" }}>
        {lines.slice(first, last).map((line, index) => (
          <div
            key={line.seq}
            className={`log-line log-${line.type}`}
            style={{ top: (first + index) * LINE_PX, height: LINE_PX }}
          >
            <span className="log-seq">{line.seq}</span>
            {line.text}
          </div>
        ))}
      </div>
    </section>
  );
}
