package httpapi

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/iotplatform/enduser-auth/domain"
)

// codeSuccess is the envelope code of every successful answer.
const codeSuccess = 200

// response is how one error kind is answered: the platform's business code,
// its messages, and the HTTP status (200 for every business outcome).
type response struct {
	code   int
	en, zh string
	status int
}

// responses is the one table from error kinds to the platform's business codes.
// Kinds missing here (and non-domain errors) answer internalResponse.
var responses = map[domain.Kind]response{
	domain.KindUserDomainRequired:     {5023, "Please enter user domain", "请输入用户域", http.StatusOK},
	domain.KindUserDomainMalformed:    {5013, "User domain format incorrect", "用户域格式不正确", http.StatusOK},
	domain.KindAppIDRequired:          {5218, "Please enter appid", "请输入appid", http.StatusOK},
	domain.KindCodeRequired:           {5372, "Please enter code", "请输入code", http.StatusOK},
	domain.KindSignatureRequired:      {5550, "Please enter signature", "请输入签名", http.StatusOK},
	domain.KindUserDomainNotFound:     {5015, "User domain does not exist", "用户域不存在", http.StatusOK},
	domain.KindUserDomainDisabled:     {5104, "User domain has been disabled", "用户域已被停用", http.StatusOK},
	domain.KindSignatureInvalid:       {5420, "Signature verification failed", "签名验证失败", http.StatusOK},
	domain.KindMCCUnresolved:          {6085, "Failed to query data center for MCC", "查询MCC所属数据中心失败", http.StatusOK},
	domain.KindMCCForeign:             {6084, "MCC does not belong to current data center", "MCC不属于当前数据中心", http.StatusOK},
	domain.KindOfficialAccountMissing: {5375, "The official account's secret is not configured", "公众号密钥未配置", http.StatusOK},
	domain.KindMiniProgramMissing:     {5373, "The mini program's secret is not configured", "小程序密钥未配置", http.StatusOK},
	domain.KindWeChatUnavailable:      {5367, "Exception in requesting user OpenID", "请求用户OpenID异常", http.StatusOK},
	domain.KindWeChatRejected:         {5368, "Failed to get user OpenID", "获取用户OpenID失败", http.StatusOK},
	domain.KindWeChatMalformed:        {5369, "Failed to parse user OpenID", "解析用户OpenID失败", http.StatusOK},
	domain.KindRefreshTokenRequired:   {5115, "Please enter refresh token", "请输入刷新令牌", http.StatusOK},
	domain.KindAccessTokenRequired:    {5106, "Please enter token", "请输入令牌", http.StatusOK},
	domain.KindTokenInvalid:           {5032, "Token is invalid or expired", "令牌无效或已过期", http.StatusOK},
	domain.KindLogoutFailed:           {5045, "Logout failed", "退出登录失败", http.StatusOK},
	domain.KindUserNotFound:           {5033, "User does not exist", "用户不存在", http.StatusOK},
	domain.KindNikeNameInvalid:        {5060, "Nickname is too long", "昵称过长", http.StatusOK},
	domain.KindProfileInvalid:         {5034, "Parameter error", "参数错误", http.StatusOK},
	domain.KindSexInvalid:             {5061, "Sex must be 0, 1 or 2", "性别只能为0、1或2", http.StatusOK},
	domain.KindAddressInvalid:         {5076, "Address is too long", "地址过长", http.StatusOK},
	domain.KindProvinceInvalid:        {5473, "Province is too long", "省份过长", http.StatusOK},
	domain.KindCityInvalid:            {5474, "City is too long", "城市过长", http.StatusOK},
	domain.KindSignatureText:          {5475, "Personal signature is too long", "个性签名过长", http.StatusOK},
	domain.KindRemarkInvalid:          {5476, "Remark is too long", "备注过长", http.StatusOK},
	domain.KindProfileSaveFailed:      {5042, "Failed to save user information", "保存用户信息失败", http.StatusOK},
	domain.KindDeletionTypeInvalid:    {5152, "Type error", "类型错误", http.StatusOK},
	domain.KindDeletionFailed:         {5129, "Failed to delete user", "删除用户失败", http.StatusOK},
	domain.KindUserDisabled:           {5041, "Permission denied", "没有权限", http.StatusOK},
	domain.KindPhoneCodeRequired:      {5398, "Please input WeChat authorization code", "请输入微信授权码", http.StatusOK},
	domain.KindAppTokenFailed:         {5382, "Failed to request application access token", "请求应用访问令牌失败", http.StatusOK},
	domain.KindAppTokenMalformed:      {5383, "Failed to parse accessToken", "解析accessToken失败", http.StatusOK},
	domain.KindPhoneLookupFailed:      {5394, "Internal interface request failed", "内部接口请求失败", http.StatusOK},
	domain.KindPhoneRejected:          {5403, "Failed to decrypt WeChat mobile number", "解密微信手机号失败", http.StatusOK},
	domain.KindPhoneTaken:             {5002, "The mobile number is registered", "该手机号已注册", http.StatusOK},
	domain.KindClientBlocked:          {5148, "The current IP address is blocked. Please try again in 20 minutes", "当前IP已被封禁，请20分钟后再试", http.StatusOK},
}

// internalResponse answers everything unexpected: details go to the log only.
var internalResponse = response{5000, "Service exception", "服务异常", http.StatusInternalServerError}

// routeResponses are the answers a route words its own way: the same code
// as responses gives, another message (the mini program's code parameter is
// jsCode). The API document lists them under x-route-messages.
var routeResponses = map[string]map[domain.Kind]response{
	PathWeChatMiniprogramLogin: {
		domain.KindCodeRequired: {5372, "Please enter jsCode", "请输入jsCode", http.StatusOK},
	},
}

// responseForRoute is responseFor as the route (an Echo path) words it.
func responseForRoute(route string, err error) response {
	if r, ok := routeResponses[route][domain.KindOf(err)]; ok {
		return r
	}
	return responseFor(err)
}

func responseFor(err error) response {
	if r, ok := responses[domain.KindOf(err)]; ok {
		return r
	}
	return internalResponse
}

// prefersChinese reports whether an Accept-Language header ranks a zh
// language highest (ties go to the first listed).
func prefersChinese(header string) bool {
	best, bestQ := "", -1.0
	for _, part := range strings.Split(header, ",") {
		fields := strings.Split(strings.TrimSpace(part), ";")
		tag := strings.ToLower(strings.TrimSpace(fields[0]))
		if tag == "" {
			continue
		}
		q := 1.0
		for _, p := range fields[1:] {
			p = strings.TrimSpace(p)
			if v, ok := strings.CutPrefix(p, "q="); ok {
				if f, err := strconv.ParseFloat(v, 64); err == nil && f >= 0 && f <= 1 {
					q = f
				} else {
					q = 0
				}
			}
		}
		if q > bestQ {
			best, bestQ = tag, q
		}
	}
	return bestQ > 0 && (best == "zh" || strings.HasPrefix(best, "zh-"))
}

// CodeOf is the business code an outcome answers (200: success, ""), as the
// audit trail records it.
func CodeOf(k domain.Kind) int {
	if k == "" {
		return codeSuccess
	}
	if r, ok := responses[k]; ok {
		return r.code
	}
	return internalResponse.code
}
