/**
 * Resolves CloudFormation intrinsic functions (`Ref`, `Fn::GetAtt`, `Fn::Join`, `Fn::Sub`, …) in a
 * synthesized template to the values they have on this machine. What a resource's `Ref` or attribute is
 * locally comes from a {@link ResourceValues} provider (see `physical-names.ts`), so this module knows
 * CloudFormation's rules and nothing about emulators.
 */
import { type CfnResource, type CfnTemplate, isRecord } from "./template.ts";

/** A value the runtime needs cannot be computed locally; the message names the place and the resource. */
export class UnresolvableValueError extends Error {
  override readonly name = "UnresolvableValueError";
}

/** What a resource is worth locally: its `Ref` and the attributes `Fn::GetAtt` may read. */
export interface LocalResourceValues {
  readonly ref?: string;
  readonly attributes: Readonly<Record<string, string>>;
}

export interface ResourceValues {
  /** The local values of a resource, or undefined when this resource type has none. */
  valuesOf(logicalId: string, resource: CfnResource): LocalResourceValues | undefined;
  /** Rewrites a resolved string, e.g. an `https://{api}.execute-api…` URL into the local API URL. */
  rewrite?(value: string): string;
}

export interface PseudoParameters {
  readonly region: string;
  readonly accountId: string;
  readonly stackName: string;
  readonly partition?: string;
  readonly urlSuffix?: string;
}

/** Marks a value removed by `Ref: AWS::NoValue`. */
const NO_VALUE: unique symbol = Symbol("AWS::NoValue");
type Resolved = unknown;

export class IntrinsicResolver {
  readonly #template: CfnTemplate;
  readonly #values: ResourceValues;
  readonly #pseudo: Readonly<Record<string, unknown>>;
  readonly #conditions = new Map<string, boolean>();

  constructor(template: CfnTemplate, values: ResourceValues, pseudo: PseudoParameters) {
    this.#template = template;
    this.#values = values;
    const partition = pseudo.partition ?? "aws";
    this.#pseudo = {
      "AWS::Region": pseudo.region,
      "AWS::AccountId": pseudo.accountId,
      "AWS::Partition": partition,
      "AWS::URLSuffix": pseudo.urlSuffix ?? "amazonaws.com",
      "AWS::StackName": pseudo.stackName,
      "AWS::StackId": `arn:${partition}:cloudformation:${pseudo.region}:${pseudo.accountId}:stack/${pseudo.stackName}/00000000-0000-0000-0000-000000000000`,
      "AWS::NotificationARNs": [],
    };
  }

  /**
   * Resolves every intrinsic inside `value`. `where` describes the place for error messages, e.g.
   * `Environment.Variables of Api (AWS::Lambda::Function)`.
   */
  resolve(value: unknown, where: string): unknown {
    const resolved = this.#resolve(value, where);
    return resolved === NO_VALUE ? undefined : resolved;
  }

  /** Resolves a value that must end up a string. */
  resolveString(value: unknown, where: string): string {
    const resolved = this.resolve(value, where);
    if (typeof resolved === "string") return resolved;
    if (typeof resolved === "number" || typeof resolved === "boolean") return String(resolved);
    throw new UnresolvableValueError(`${where}: expected a string, got ${JSON.stringify(resolved)}`);
  }

  /** Whether a template condition holds (resources with a false `Condition` do not exist). */
  condition(name: string): boolean {
    const known = this.#conditions.get(name);
    if (known !== undefined) return known;
    const definition = this.#template.Conditions?.[name];
    if (definition === undefined)
      throw new UnresolvableValueError(`Condition ${name} is not defined in the template`);
    const holds = this.#evaluateCondition(definition, `Condition ${name}`);
    this.#conditions.set(name, holds);
    return holds;
  }

  #resolve(value: unknown, where: string): Resolved {
    if (Array.isArray(value)) {
      return value.map((item) => this.#resolve(item, where)).filter((item) => item !== NO_VALUE);
    }
    if (!isRecord(value)) return value;
    const keys = Object.keys(value);
    const only = keys.length === 1 ? keys[0] : undefined;
    if (only !== undefined && (only === "Ref" || only.startsWith("Fn::"))) {
      const result = this.#intrinsic(only, value[only], where);
      return typeof result === "string" && this.#values.rewrite ? this.#values.rewrite(result) : result;
    }
    const out: Record<string, unknown> = {};
    for (const key of keys) {
      const resolved = this.#resolve(value[key], where);
      if (resolved !== NO_VALUE) out[key] = resolved;
    }
    return out;
  }

  #intrinsic(name: string, argument: unknown, where: string): Resolved {
    switch (name) {
      case "Ref":
        return this.#ref(this.#expectString(argument, name, where), where);
      case "Fn::GetAtt":
        return this.#getAtt(argument, where);
      case "Fn::Join": {
        const [delimiter, list] = this.#expectArray(argument, name, where, 2);
        const items = this.#resolve(list, where);
        if (!Array.isArray(items)) throw this.#malformed(name, argument, where);
        return items.map((item) => this.#stringify(item, name, where)).join(String(delimiter));
      }
      case "Fn::Sub":
        return this.#sub(argument, where);
      case "Fn::Select": {
        const [index, list] = this.#expectArray(argument, name, where, 2);
        const position = Number(this.#resolve(index, where));
        const items = this.#resolve(list, where);
        if (
          !Array.isArray(items) ||
          !Number.isInteger(position) ||
          position < 0 ||
          position >= items.length
        ) {
          throw this.#malformed(name, argument, where);
        }
        return items[position];
      }
      case "Fn::Split": {
        const [delimiter, source] = this.#expectArray(argument, name, where, 2);
        return this.#stringify(this.#resolve(source, where), name, where).split(String(delimiter));
      }
      case "Fn::If": {
        const [conditionName, whenTrue, whenFalse] = this.#expectArray(argument, name, where, 3);
        const holds = this.condition(this.#expectString(conditionName, name, where));
        return this.#resolve(holds ? whenTrue : whenFalse, where);
      }
      case "Fn::Equals":
      case "Fn::Not":
      case "Fn::And":
      case "Fn::Or":
        return this.#evaluateCondition({ [name]: argument }, where);
      case "Fn::Base64":
        return Buffer.from(this.#stringify(this.#resolve(argument, where), name, where)).toString("base64");
      case "Fn::GetAZs": {
        const region = this.#pseudo["AWS::Region"] as string;
        return ["a", "b", "c"].map((zone) => `${region}${zone}`);
      }
      case "Fn::FindInMap":
        return this.#findInMap(argument, where);
      case "Fn::ToJsonString":
        return JSON.stringify(this.#resolve(argument, where));
      case "Fn::Length": {
        const items = this.#resolve(argument, where);
        if (!Array.isArray(items)) throw this.#malformed(name, argument, where);
        return items.length;
      }
      default:
        throw new UnresolvableValueError(
          `${where}: the local runtime cannot resolve ${name} (${JSON.stringify(argument)})`,
        );
    }
  }

  #ref(target: string, where: string): Resolved {
    if (target === "AWS::NoValue") return NO_VALUE;
    if (target in this.#pseudo) return this.#pseudo[target];
    const parameter = this.#template.Parameters?.[target];
    if (parameter !== undefined) {
      if (parameter.Default === undefined) {
        throw new UnresolvableValueError(`${where}: parameter ${target} has no default value to use locally`);
      }
      return this.#resolve(parameter.Default, where);
    }
    const resource = this.#resource(target, where);
    const values = this.#values.valuesOf(target, resource);
    if (values?.ref === undefined) {
      throw new UnresolvableValueError(
        `${where}: Ref to ${target} (${resource.Type}) has no local value; the local runtime does not emulate this resource type`,
      );
    }
    return values.ref;
  }

  #getAtt(argument: unknown, where: string): Resolved {
    let logicalId: unknown;
    let attribute: unknown;
    if (typeof argument === "string") {
      const dot = argument.indexOf(".");
      [logicalId, attribute] = [argument.slice(0, dot), argument.slice(dot + 1)];
    } else {
      [logicalId, attribute] = this.#expectArray(argument, "Fn::GetAtt", where, 2);
      attribute = this.#resolve(attribute, where);
    }
    const id = this.#expectString(logicalId, "Fn::GetAtt", where);
    const name = this.#expectString(attribute, "Fn::GetAtt", where);
    const resource = this.#resource(id, where);
    const value = this.#values.valuesOf(id, resource)?.attributes[name];
    if (value === undefined) {
      throw new UnresolvableValueError(
        `${where}: Fn::GetAtt ${id}.${name} (${resource.Type}) has no local value; the local runtime does not emulate this attribute`,
      );
    }
    return value;
  }

  #sub(argument: unknown, where: string): string {
    let source: unknown = argument;
    let variables: Record<string, unknown> = {};
    if (Array.isArray(argument)) {
      const [text, vars] = this.#expectArray(argument, "Fn::Sub", where, 2);
      source = text;
      const resolvedVars = this.#resolve(vars, where);
      if (!isRecord(resolvedVars)) throw this.#malformed("Fn::Sub", argument, where);
      variables = resolvedVars;
    }
    const text = this.#expectString(source, "Fn::Sub", where);
    return text.replace(/\$\{([^}]*)\}/g, (_match, expression: string) => {
      if (expression.startsWith("!")) return `\${${expression.slice(1)}}`;
      const name = expression.trim();
      if (name in variables) return this.#stringify(variables[name], "Fn::Sub", where);
      const dot = name.indexOf(".");
      if (dot > 0 && !name.startsWith("AWS::")) {
        return this.#stringify(
          this.#getAtt([name.slice(0, dot), name.slice(dot + 1)], where),
          "Fn::Sub",
          where,
        );
      }
      return this.#stringify(this.#ref(name, where), "Fn::Sub", where);
    });
  }

  #findInMap(argument: unknown, where: string): Resolved {
    const [mapName, topKey, secondKey, options] = this.#expectArray(argument, "Fn::FindInMap", where, 3);
    const keys = [mapName, topKey, secondKey].map((key) =>
      this.#stringify(this.#resolve(key, where), "Fn::FindInMap", where),
    );
    const value = this.#template.Mappings?.[keys[0] ?? ""]?.[keys[1] ?? ""]?.[keys[2] ?? ""];
    if (value !== undefined) return this.#resolve(value, where);
    if (isRecord(options) && "DefaultValue" in options) return this.#resolve(options.DefaultValue, where);
    throw this.#malformed("Fn::FindInMap", argument, where);
  }

  #evaluateCondition(definition: unknown, where: string): boolean {
    if (!isRecord(definition)) return Boolean(this.#resolve(definition, where));
    const [name] = Object.keys(definition);
    const argument = name === undefined ? undefined : definition[name];
    switch (name) {
      case "Fn::Equals": {
        const [left, right] = this.#expectArray(argument, name, where, 2);
        return JSON.stringify(this.#resolve(left, where)) === JSON.stringify(this.#resolve(right, where));
      }
      case "Fn::Not": {
        const [inner] = this.#expectArray(argument, name, where, 1);
        return !this.#evaluateCondition(inner, where);
      }
      case "Fn::And":
        return this.#expectArray(argument, name, where, 1).every((inner) =>
          this.#evaluateCondition(inner, where),
        );
      case "Fn::Or":
        return this.#expectArray(argument, name, where, 1).some((inner) =>
          this.#evaluateCondition(inner, where),
        );
      case "Condition":
        return this.condition(this.#expectString(argument, name, where));
      default:
        return Boolean(this.#resolve(definition, where));
    }
  }

  #resource(logicalId: string, where: string): CfnResource {
    const resource = this.#template.Resources[logicalId];
    if (resource === undefined) {
      throw new UnresolvableValueError(
        `${where}: ${logicalId} is neither a resource nor a parameter of the template`,
      );
    }
    return resource;
  }

  #stringify(value: unknown, fn: string, where: string): string {
    if (typeof value === "string") return value;
    if (typeof value === "number" || typeof value === "boolean") return String(value);
    throw new UnresolvableValueError(`${where}: ${fn} expected a string, got ${JSON.stringify(value)}`);
  }

  #expectString(value: unknown, fn: string, where: string): string {
    if (typeof value !== "string") throw this.#malformed(fn, value, where);
    return value;
  }

  #expectArray(value: unknown, fn: string, where: string, minLength: number): unknown[] {
    if (!Array.isArray(value) || value.length < minLength) throw this.#malformed(fn, value, where);
    return value;
  }

  #malformed(fn: string, argument: unknown, where: string): UnresolvableValueError {
    return new UnresolvableValueError(`${where}: malformed ${fn} ${JSON.stringify(argument)}`);
  }
}
