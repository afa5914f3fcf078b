/** A set that forgets its oldest members past `max`: bounded memory of recent containers or events. */
export class RecentSet {
  private readonly items = new Set<string>();

  constructor(private readonly max = 4096) {}

  add(key: string): void {
    this.items.delete(key);
    this.items.add(key);
    if (this.items.size > this.max) this.items.delete(this.items.values().next().value!);
  }

  has(key: string): boolean {
    return this.items.has(key);
  }
}
