// A category's name in the reader's language (the API gives both).
import type { Language } from '../shared/i18n';

export type Named = { nameId: string; nameEn: string };

export function categoryName(category: Named, language: Language): string {
  return language === 'id' ? category.nameId : category.nameEn;
}
