// What a web team writes against the TypeScript client that openapi-typescript
// generates from the module's API document (npm run gen:ts writes
// gen/enduser.d.ts from adapters/httpapi/openapi.yaml, the very file the
// module embeds and serves at GET /v2/enduser/openapi.yaml). .ci/run compiles
// it with tsc --noEmit: a document the generator cannot turn into types that
// carry these calls fails CI. Never run, never shipped.
import createClient from "openapi-fetch";
import type { components, paths } from "./gen/enduser";

type UserInfo = components["schemas"]["UserInfo"];
type TokenPair = components["schemas"]["TokenPair"];

const client = createClient<paths>({ baseUrl: "https://enduser.example.com" });

// Business failures are HTTP 200 with a code: the envelope's code tells.
export type Outcome<T> = { ok: true; value: T } | { ok: false; code: number; msg: string };

export async function loginWithOfficialAccount(userDomain: string, appId: string, code: string, signature: string): Promise<Outcome<TokenPair>> {
  const { data, error } = await client.POST("/v2/enduser/enduserapi/wechatOffiaccountAuthLogin", {
    body: { userDomain, appId, code, signature, mcc: 460 },
  });
  if (data === undefined) return { ok: false, code: error.code, msg: error.msg };
  if (data.code !== 200) return { ok: false, code: data.code, msg: data.msg };
  return { ok: true, value: data.data };
}

export async function refresh(pair: TokenPair): Promise<Outcome<TokenPair>> {
  const { data, error } = await client.PUT("/v2/enduser/enduserapi/refreshToken", {
    body: { refreshToken: pair.refreshToken.token },
  });
  if (data === undefined) return { ok: false, code: error.code, msg: error.msg };
  if (data.code !== 200) return { ok: false, code: data.code, msg: data.msg };
  return { ok: true, value: data.data };
}

// The access token goes in Authorization as answered (bearerAuth: it already
// carries the "Bearer " prefix).
function authorized(pair: TokenPair) {
  return { headers: { Authorization: pair.accessToken.token } };
}

export async function userInfo(pair: TokenPair): Promise<Outcome<UserInfo>> {
  const { data, error } = await client.GET("/v2/enduser/enduserapi/userInfo", {
    ...authorized(pair),
    params: { header: { "Accept-Language": "zh-CN" } },
  });
  if (data === undefined) return { ok: false, code: error.code, msg: error.msg };
  if (data.code !== 200) return { ok: false, code: data.code, msg: data.msg };
  const logonMode: "wechatOffiaccount" | "wechatMiniprogram" = data.data.logonMode;
  return logonMode ? { ok: true, value: data.data } : { ok: false, code: 0, msg: "" };
}

export async function setNickname(pair: TokenPair, nikeName: string): Promise<Outcome<null>> {
  const { data, error } = await client.PUT("/v2/enduser/enduserapi/setUserInfo", {
    ...authorized(pair),
    body: { nikeName, sex: 1 },
  });
  if (data === undefined) return { ok: false, code: error.code, msg: error.msg };
  if (data.code !== 200) return { ok: false, code: data.code, msg: data.extMsg ?? data.msg };
  // data.data is null here (NoData). openapi-fetch 0.17's response types drop
  // properties whose type is exactly null (openapi-typescript-helpers'
  // Readable<T>), so it is not read through them.
  return { ok: true, value: null };
}

export async function logout(pair: TokenPair, deviceId?: string): Promise<Outcome<null>> {
  const { data, error } = await client.DELETE("/v2/enduser/enduserapi/userLogout", {
    ...authorized(pair),
    body: { deviceId },
  });
  if (data === undefined) return { ok: false, code: error.code, msg: error.msg };
  if (data.code !== 200) return { ok: false, code: data.code, msg: data.msg };
  return { ok: true, value: null }; // data.data is null (see setNickname)
}

export async function signingKeys(): Promise<string[]> {
  const { data } = await client.GET("/.well-known/jwks.json");
  return (data?.keys ?? []).map((k) => k.kid);
}

// The mini program's getPhoneNumber code bound to the token's user; the
// answer's phone is masked (138****8000).
export async function bindPhone(pair: TokenPair, appId: string, phoneCode: string): Promise<Outcome<{ phone: string; countryCode: string }>> {
  const { data, error } = await client.POST("/v2/enduser/enduserapi/wechatMiniprogramPhoneNumber", {
    ...authorized(pair),
    body: { appId, phoneCode },
  });
  if (data === undefined) return { ok: false, code: error.code, msg: error.msg };
  if (data.code !== 200) return { ok: false, code: data.code, msg: data.extMsg ?? data.msg };
  return { ok: true, value: { phone: data.data.phone, countryCode: data.data.countryCode } };
}
