export {
  PUSH_CONTENT_TYPE,
  PUSH_USER_AGENT,
  PushClient,
  PushFailure,
  SIGNATURE_HEADER,
  signBody,
  verifySignature,
  type PushClientOptions,
  type PushDelivery,
  type PushFailureDetails,
  type PushFailureReason,
  type PushResult,
  type Resolver,
} from './push-client';
export { RateLimiter, type RateLimit } from './rate-limiter';
export {
  ALLOW_LIST_SETTING,
  AllowListEntryError,
  UrlAllowList,
  connectAllowed,
  internalAddressKind,
  type AllowListCheck,
  type AllowListEntry,
  type InternalAddressKind,
} from './url-allow-list';
