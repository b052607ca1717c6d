/** "3 s", "4 min", "2 h 5 min", "3 d": an age or a duration for people. */
export function age(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s`;
  const min = Math.floor(s / 60);
  if (min < 60) return `${min} min`;
  const h = Math.floor(min / 60);
  if (h < 48) return `${h} h ${min % 60} min`;
  return `${Math.floor(h / 24)} d`;
}

export function time(date: Date | undefined | null): string {
  return date ? date.toLocaleString() : "—";
}

export function usd(value: number | undefined): string {
  return value === undefined ? "—" : `$${value.toFixed(value < 1 ? 4 : 2)}`;
}

export function num(value: number | undefined): string {
  return value === undefined ? "—" : value.toLocaleString();
}

/** An event's text: its `line` (log), else its `text`, else its data as JSON (schema's `eventText`). */
export function eventText(data: unknown): string {
  if (data && typeof data === "object") {
    const record = data as Record<string, unknown>;
    for (const key of ["line", "text"]) {
      const value = record[key];
      if (typeof value === "string" || typeof value === "number") return String(value);
    }
  }
  return JSON.stringify(data);
}
