/**
 * The three Reflect metadata functions tsyringe (a dependency of @peculiar/x509) checks for at load
 * time; the usual `reflect-metadata` package is not installed. x509 ships compiled code without
 * decorator metadata, so a per-object map is all that is needed. Imported before @peculiar/x509.
 */
type MetadataReflect = typeof Reflect & {
  getMetadata?: (key: unknown, target: object, property?: PropertyKey) => unknown;
  getOwnMetadata?: (key: unknown, target: object, property?: PropertyKey) => unknown;
  defineMetadata?: (key: unknown, value: unknown, target: object, property?: PropertyKey) => void;
};

const R = Reflect as MetadataReflect;
if (!R.getMetadata) {
  const store = new WeakMap<object, Map<PropertyKey | undefined, Map<unknown, unknown>>>();
  const own = (target: object, property: PropertyKey | undefined, create: boolean) => {
    let byProperty = store.get(target);
    if (!byProperty && create) store.set(target, (byProperty = new Map()));
    let entries = byProperty?.get(property);
    if (!entries && create && byProperty) byProperty.set(property, (entries = new Map()));
    return entries;
  };
  R.defineMetadata = (key, value, target, property) => void own(target, property, true)!.set(key, value);
  R.getOwnMetadata = (key, target, property) => own(target, property, false)?.get(key);
  R.getMetadata = (key, target, property) => {
    for (let t: object | null = target; t; t = Object.getPrototypeOf(t) as object | null) {
      const entries = own(t, property, false);
      if (entries?.has(key)) return entries.get(key);
    }
    return undefined;
  };
}

export {};
