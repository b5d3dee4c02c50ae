// A picture beside each category's name, so that a citizen finds "banjir" at a glance. The pictures are emoji
// (no image to download, drawn by the phone's own font) and always come with the category's written name;
// screen readers skip them (aria-hidden where they are shown).
import type { Language } from '../shared/i18n';

const ICONS: Record<string, string> = {
  'traffic': '🚦',
  'garbage': '🗑️',
  'flood': '🌊',
  'rule-violation': '⚠️',
  'fire': '🔥',
  'damaged-road': '🚧',
  'beggars': '🤲',
  'street-vendors': '🛒',
  'crime': '🚨',
  'street-light': '💡',
  'fallen-tree': '🌳',
  'public-facilities': '🏛️',
  'illegal-parking': '🅿️',
  'building-permit': '🏗️',
  'jockey-3in1': '🚗',
  'no-smoking': '🚭',
  'unlicensed-ads': '📢',
  'unhygienic-food': '🍲',
  'transjakarta': '🚌',
  'terrorism': '🛡️',
  'utilities': '🚰',
};

export function categoryIcon(code: string): string {
  return ICONS[code] ?? '📍';
}

export type Named = { nameId: string; nameEn: string };

export function categoryName(category: Named, language: Language): string {
  return language === 'id' ? category.nameId : category.nameEn;
}
