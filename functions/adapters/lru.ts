/** Keeps `key` as the most recently used of `map`, and `map` within `max` entries. */
export function remember<V>(map: Map<string, V>, key: string, value: V, max: number): void {
  map.delete(key);
  map.set(key, value);
  // A Map iterates in insertion order, so its first key is the one least recently used.
  for (const oldest of map.keys()) {
    if (map.size <= max) break;
    map.delete(oldest);
  }
}
