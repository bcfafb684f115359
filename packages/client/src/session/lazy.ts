/**
 * A resource created on first use and shared by every caller. A failed creation (say the server
 * was down) is forgotten, so it never poisons later attempts.
 */
export class Lazy<T> {
  private value: Promise<T> | undefined;

  get(create: () => Promise<T>): Promise<T> {
    if (!this.value) {
      const creating = create();
      creating.catch(() => {
        if (this.value === creating) this.value = undefined;
      });
      this.value = creating;
    }
    return this.value;
  }

  /** The resource if it was created successfully (for release at close), else undefined. */
  async created(): Promise<T | undefined> {
    return this.value?.catch(() => undefined);
  }
}
