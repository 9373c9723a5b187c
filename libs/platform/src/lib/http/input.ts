import {
  BadRequestException,
  Injectable,
  Query,
  SetMetadata,
  type ArgumentMetadata,
  type Type,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
  type PipeTransform,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { NextFunction, Request, Response } from 'express';
import type { Observable } from 'rxjs';
import { isUnguarded } from './auth';
import { sendError } from './errors';

/** No shape of the API nests deeper; class-transformer and class-validator recurse without a bound. */
const MAX_DEPTH = 8;

/** Keys the ValidationPipe drops silently (against prototype pollution): here they are unknown fields like any other. */
const PROTOTYPE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** A UTF-16 surrogate without its pair: JSON allows it (`"\ud800"`), PostgreSQL's text and jsonb do not. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Runs before the ValidationPipe on bodies, queries and path parameters, for what no field rule
 * says but every field needs: text PostgreSQL can store (no NUL, no lone surrogate: either would be
 * a database error, a 500), a nesting depth the validation can walk, and no `__proto__` (which the
 * ValidationPipe would drop without a word). A 400 naming each field.
 */
@Injectable()
export class StorableInputPipe implements PipeTransform {
  transform(value: unknown, metadata: ArgumentMetadata): unknown {
    if (metadata.type !== 'body' && metadata.type !== 'query' && metadata.type !== 'param') return value;
    const problems: string[] = [];
    inspect(value, metadata.type === 'param' ? (metadata.data ?? '') : '', 0, problems);
    if (problems.length) throw new BadRequestException(problems.slice(0, 20));
    return value;
  }
}

function inspect(value: unknown, path: string, depth: number, problems: string[]): void {
  if (typeof value === 'string') {
    if (value.includes('\u0000') || LONE_SURROGATE.test(value)) {
      problems.push(`${path || 'value'} must not contain NUL characters or unpaired surrogates`);
    }
  } else if (value !== null && typeof value === 'object') {
    if (depth >= MAX_DEPTH) {
      problems.push(`${path || 'body'} is nested too deeply`);
      return;
    }
    for (const [key, item] of Object.entries(value)) {
      const itemPath = path ? `${path}.${key}` : key;
      if (PROTOTYPE_KEYS.has(key)) problems.push(`property ${itemPath} should not exist`);
      else inspect(item, itemPath, depth + 1, problems);
    }
  }
}

const TAKES_QUERY = 'platform:takes-query';

/**
 * Nest's `@Query()`, which also marks the route as one that takes query parameters: they are then
 * validated by its DTO (the ValidationPipe refuses unknown ones), and any other route refuses every
 * query parameter (UnknownQueryInterceptor).
 */
export function QueryParams(...pipes: Array<Type<PipeTransform> | PipeTransform>): ParameterDecorator {
  return (target, key, index) => {
    Query(...pipes)(target, key, index);
    if (key !== undefined)
      SetMetadata(TAKES_QUERY, true)(target, key, { value: (target as Record<string | symbol, unknown>)[key] });
  };
}

/**
 * A query parameter a route does not declare is a 400 naming it, as the ValidationPipe
 * (forbidNonWhitelisted) does for routes with a query DTO: this covers the routes without one.
 */
@Injectable()
export class UnknownQueryInterceptor implements NestInterceptor {
  constructor(private readonly reflector: Reflector) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (
      context.getType() === 'http' &&
      !isUnguarded(this.reflector, context) &&
      this.reflector.get<boolean | undefined>(TAKES_QUERY, context.getHandler()) !== true
    ) {
      const unknown = Object.keys(context.switchToHttp().getRequest<Request>().query ?? {});
      if (unknown.length) throw new BadRequestException(unknown.map((name) => `property ${name} should not exist`));
    }
    return next.handle();
  }
}

/**
 * Before any body is read: one declared over `limitBytes` is a 413 whatever its type (body-parser
 * also stops a JSON body without Content-Length at the limit), and one that is not JSON is a 415
 * (no parser would read it, so it would be ignored). Either answer closes the connection instead
 * of reading the rest of the body.
 */
export function requestBodyCheck(limitBytes: number, limitText: string) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const length = req.headers['content-length'];
    const declared = length === undefined ? 0 : Number(length);
    const hasBody = req.headers['transfer-encoding'] !== undefined || declared > 0;
    if (declared > limitBytes) return refuse(res, 413, `request body larger than ${limitText}`);
    if (hasBody && !req.is(['json', '+json'])) {
      return refuse(res, 415, 'request body must be JSON (Content-Type: application/json)');
    }
    next();
  };
}

function refuse(res: Response, status: number, message: string): void {
  res.setHeader('Connection', 'close');
  sendError(res, status, [message]);
}
