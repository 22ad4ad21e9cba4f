// Shell-style globs where only `*` is special (any run of characters): Kubernetes namespace
// patterns in the admission configuration and in `waybill snapshot kubernetes --namespace`.

/** The anchored regular expression for `pattern`: every character literal except `*`. */
export function globRegExp(pattern: string): RegExp {
  return new RegExp(
    `^${pattern
      .split('*')
      .map((s) => s.replace(/[.+?^${}()|[\]\\-]/g, '\\$&'))
      .join('.*')}$`,
  );
}
