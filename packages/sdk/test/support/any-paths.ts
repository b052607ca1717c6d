import ts from "typescript";

/** What a consumer outside the repo compiles with. */
export const CONSUMER_COMPILER_OPTIONS: ts.CompilerOptions = {
  strict: true,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  target: ts.ScriptTarget.ES2022,
  skipLibCheck: true,
  noEmit: true,
};

/**
 * The paths inside each named type alias of `file` whose type is `any`, found with the type
 * checker. A type-level `IsAny<T>` cannot do this: a type from an import that does not resolve
 * (say `mongodb`, which users of the SDK do not have) is TypeScript's error type, which turns
 * every conditional type it meets into itself and so passes any such check.
 */
export function anyPaths(file: string, aliases: string[], opts: { maxDepth?: number } = {}): string[] {
  const program = ts.createProgram([file], CONSUMER_COMPILER_OPTIONS);
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(file);
  if (!source) throw new Error(`${file} is not in the program`);
  const maxDepth = opts.maxDepth ?? 8;
  const found: string[] = [];
  const fromLib = (type: ts.Type) =>
    type.symbol?.declarations?.some((decl) => program.isSourceFileDefaultLibrary(decl.getSourceFile())) ?? false;

  const visit = (type: ts.Type, path: string, depth: number, onPath: Set<ts.Type>): void => {
    // `any` and the error type both carry the Any flag
    if (type.flags & ts.TypeFlags.Any) {
      found.push(path);
      return;
    }
    if (
      depth > maxDepth ||
      onPath.has(type) ||
      !(type.flags & (ts.TypeFlags.Object | ts.TypeFlags.UnionOrIntersection))
    )
      return;
    const inner = new Set(onPath).add(type);
    if (type.isUnionOrIntersection()) {
      for (const member of type.types) visit(member, path, depth, inner);
      return;
    }
    if (checker.isArrayType(type) || checker.isTupleType(type)) {
      for (const element of checker.getTypeArguments(type as ts.TypeReference))
        visit(element, `${path}[]`, depth + 1, inner);
      return;
    }
    // Date, AsyncIterable<T>…: only their type arguments are ours, less the lib's own `any`
    // defaults (AsyncIterable<T, TReturn = any, TNext = any>)
    if (fromLib(type)) {
      if (!((type as ts.ObjectType).objectFlags & ts.ObjectFlags.Reference)) return;
      const params = (type as ts.TypeReference).target.typeParameters ?? [];
      checker.getTypeArguments(type as ts.TypeReference).forEach((argument, i) => {
        const param = params[i];
        const fallback = param ? checker.getDefaultFromTypeParameter(param) : undefined;
        if (fallback && fallback.flags & ts.TypeFlags.Any && argument === fallback) return;
        visit(argument, `${path}<${i}>`, depth + 1, inner);
      });
      return;
    }
    for (const prop of checker.getPropertiesOfType(type))
      visit(checker.getTypeOfSymbol(prop), `${path}.${prop.name}`, depth + 1, inner);
    for (const index of checker.getIndexInfosOfType(type)) visit(index.type, `${path}[key]`, depth + 1, inner);
  };

  for (const name of aliases) {
    const alias = source.statements.find(
      (node): node is ts.TypeAliasDeclaration => ts.isTypeAliasDeclaration(node) && node.name.text === name,
    );
    if (!alias) throw new Error(`${file} has no type alias ${name}`);
    visit(checker.getTypeAtLocation(alias.name), name, 0, new Set());
  }
  return [...new Set(found)];
}
